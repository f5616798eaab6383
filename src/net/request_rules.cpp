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

std::size_t header_section_end(std::string_view received) noexcept {
  const auto crlf = received.find("\r\n\r\n");
  const auto lf = received.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return 0;
  if (lf == std::string_view::npos || (crlf != std::string_view::npos && crlf < lf)) return crlf + 4;
  return lf + 2;
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
  if (header.version() >= 11 && header.count(http::field::host) != 1) return request_verdict::bad_request;
  if (header.count(http::field::transfer_encoding) > 0) {
    if (!chunked || header.count(http::field::content_length) > 0) return request_verdict::bad_request;
  }
  return request_verdict::ok;
}

}  // namespace dh::net
