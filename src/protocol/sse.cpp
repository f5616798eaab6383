#include "protocol/sse.hpp"

#include "protocol/messages.hpp"

#include <fmt/format.h>

namespace dh::protocol {

std::string sse_event_head(std::string_view type, std::uint64_t event_id) {
  if (event_id == 0) return fmt::format("event: {}\ndata: ", type);
  return fmt::format("event: {}\nid: {}\ndata: ", type, event_id);
}

std::string sse_preamble(std::chrono::milliseconds retry) { return fmt::format("retry: {}\n\n", retry.count()); }

boost::system::result<std::optional<std::uint64_t>, failure> sse_resume_point(const std::vector<std::string_view>& headers,
                                                                              std::optional<std::string_view> query) {
  if (headers.size() > 1) return failure{errc::invalid_message, "more than one Last-Event-ID", {}};
  std::optional<std::string_view> text = query;
  if (headers.size() == 1) {
    if (headers.front().empty()) return std::optional<std::uint64_t>{};
    text = headers.front();
  }
  if (!text) return std::optional<std::uint64_t>{};
  const auto id = parse_event_id(*text);
  if (!id) return failure{errc::invalid_message, "Last-Event-ID and lastEventId must be a string of decimal digits", {}};
  return id;
}

}  // namespace dh::protocol
