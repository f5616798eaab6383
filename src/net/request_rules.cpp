#include "net/request_rules.hpp"

namespace dh::net {

http::status status_of(request_verdict v) noexcept {
  switch (v) {
    case request_verdict::ok: return http::status::ok;
    case request_verdict::bad_request: return http::status::bad_request;
    case request_verdict::target_too_long: return http::status::uri_too_long;
    case request_verdict::header_too_large: return http::status::request_header_fields_too_large;
  }
  return http::status::bad_request;
}

std::size_t header_section_end(std::string_view received, std::size_t from) noexcept {
  // "\n\r\n" ends CRLF sections (and a last field with a bare LF); "\n\n" bare-LF ones.
  for (auto at = received.find('\n', from); at != std::string_view::npos; at = received.find('\n', at + 1)) {
    if (received.substr(at + 1, 1) == "\n") return at + 2;
    if (received.substr(at + 1, 2) == "\r\n") return at + 3;
  }
  return 0;
}

namespace {

// The target's length, taken from the request line (method SP target SP version).
std::size_t target_length(std::string_view request_line) noexcept {
  const auto first = request_line.find(' ');
  if (first == std::string_view::npos) return 0;
  const auto last = request_line.rfind(' ');
  return last > first ? last - first - 1 : request_line.size() - first - 1;
}

}  // namespace

request_verdict oversize_verdict(std::string_view received, const header_limits& limits) noexcept {
  const auto line_end = received.find('\n');
  const auto request_line = received.substr(0, line_end);
  if (line_end == std::string_view::npos || target_length(request_line) > limits.target)
    return request_verdict::target_too_long;
  return request_verdict::header_too_large;
}

request_verdict check_raw_header(std::string_view section, const header_limits& limits) noexcept {
  auto line_end = section.find('\n');
  if (line_end == std::string_view::npos) return request_verdict::bad_request;
  if (target_length(section.substr(0, line_end)) > limits.target) return request_verdict::target_too_long;
  while (line_end + 1 < section.size()) {
    const char first = section[line_end + 1];
    if (first == ' ' || first == '\t') return request_verdict::bad_request;
    line_end = section.find('\n', line_end + 1);
    if (line_end == std::string_view::npos) break;
  }
  return request_verdict::ok;
}

request_verdict check_framing(const http::request_header<>& header, bool chunked) noexcept {
  const auto hosts = header.count(http::field::host);
  if (hosts > 1 || (header.version() >= 11 && hosts == 0)) return request_verdict::bad_request;
  if (header.count(http::field::transfer_encoding) > 0) {
    if (!chunked || header.count(http::field::content_length) > 0 || header.version() < 11)
      return request_verdict::bad_request;
  }
  return request_verdict::ok;
}

}  // namespace dh::net
