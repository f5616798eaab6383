// request_rules.hpp — the RFC 9112 rules a request must pass before anything acts on it: its
// framing (Transfer-Encoding, Content-Length), Host, no line folding, and the size of its parts.
#pragma once

#include "net/net.hpp"

#include <cstddef>
#include <string_view>

namespace dh::net {

struct header_limits {
  std::size_t section = 16 * 1024;  // request line and header fields, up to the blank line
  std::size_t target = 8 * 1024;    // the request target alone (a token may ride in ?token=)
};

enum class request_verdict { ok, bad_request, target_too_long, header_too_large };

// The status a refused request is answered with: 400, 414 or 431.
http::status status_of(request_verdict v) noexcept;

// Where the header section in `received` ends (just past its blank line), or 0 while it is
// incomplete. A bare-LF blank line counts too, so that the parser refuses it at once. The
// search starts at `from`, so a section that arrives in many pieces is scanned once.
std::size_t header_section_end(std::string_view received, std::size_t from = 0) noexcept;

// For a section that did not end within the limit: 414 when the request line alone is too
// long, 431 otherwise.
request_verdict oversize_verdict(std::string_view received, const header_limits& limits) noexcept;

// On the raw section, before the parser sees it: an over-long target, or obsolete line folding
// (a field line that starts with a space or tab), which the parser would silently join.
request_verdict check_raw_header(std::string_view section, const header_limits& limits) noexcept;

// On the parsed header: HTTP/1.1 needs a Host and no request more than one; a Transfer-Encoding
// must end in chunked, never come with a Content-Length (else the body's length is ambiguous and
// the rest of the connection could be read as a smuggled request), and never in HTTP/1.0.
request_verdict check_framing(const http::request_header<>& header, bool chunked) noexcept;

}  // namespace dh::net
