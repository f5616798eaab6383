// net_request_rules_test.cpp — the RFC 9112 request rules and the RFC 6454 origin serialisation
// as pure functions (no socket); net_adversarial_test.cpp drives the same rules over loopback.
#include "net/request_rules.hpp"
#include "net/routes.hpp"

#include <doctest/doctest.h>

#include <string>

namespace net_request_rules_test {  // unity builds compile several test files as one unit

using namespace dh::net;

namespace {

http::request_header<> header_of(unsigned version, std::initializer_list<std::pair<http::field, const char*>> fields) {
  http::request_header<> h;
  h.version(version);
  h.method(http::verb::post);
  h.target("/api/v1/events");
  for (const auto& [name, value] : fields) h.insert(name, value);
  return h;
}

}  // namespace

TEST_CASE("the header section ends at the first blank line, CRLF or bare LF") {
  CHECK(header_section_end("GET / HTTP/1.1\r\nHost: x\r\n") == 0);
  CHECK(header_section_end("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody") == 27);
  CHECK(header_section_end("GET / HTTP/1.1\nHost: x\n\nbody") == 24);
}

TEST_CASE("an oversize request is 414 when its target is too long, else 431") {
  const header_limits limits{100, 40};
  CHECK(oversize_verdict("GET /" + std::string(200, 'a'), limits) == request_verdict::target_too_long);
  CHECK(oversize_verdict("GET /" + std::string(50, 'a') + " HTTP/1.1\r\nX: y", limits) == request_verdict::target_too_long);
  CHECK(oversize_verdict("GET / HTTP/1.1\r\nX: " + std::string(200, 'a'), limits) == request_verdict::header_too_large);
  CHECK(status_of(request_verdict::target_too_long) == http::status::uri_too_long);
  CHECK(status_of(request_verdict::header_too_large) == http::status::request_header_fields_too_large);
}

TEST_CASE("obsolete line folding and an over-long target are refused before parsing") {
  const header_limits limits{1000, 40};
  CHECK(check_raw_header("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\r\n", limits) == request_verdict::ok);
  CHECK(check_raw_header("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", limits) == request_verdict::bad_request);
  CHECK(check_raw_header("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n", limits) == request_verdict::bad_request);
  CHECK(check_raw_header("GET / HTTP/1.1\r\n Host: x\r\n\r\n", limits) == request_verdict::bad_request);
  CHECK(check_raw_header("GET /" + std::string(41, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", limits) ==
        request_verdict::target_too_long);
}

TEST_CASE("framing: Host is required in HTTP/1.1, Transfer-Encoding must end in chunked, never with Content-Length") {
  CHECK(check_framing(header_of(11, {{http::field::host, "x"}}), false) == request_verdict::ok);
  CHECK(check_framing(header_of(11, {}), false) == request_verdict::bad_request);
  CHECK(check_framing(header_of(11, {{http::field::host, "x"}, {http::field::host, "y"}}), false) ==
        request_verdict::bad_request);
  CHECK(check_framing(header_of(10, {}), false) == request_verdict::ok);
  CHECK(check_framing(header_of(11, {{http::field::host, "x"}, {http::field::transfer_encoding, "chunked"}}), true) ==
        request_verdict::ok);
  // The parser only sets `chunked` when chunked is the last coding; anything else is refused.
  CHECK(check_framing(header_of(11, {{http::field::host, "x"}, {http::field::transfer_encoding, "xchunked"}}), false) ==
        request_verdict::bad_request);
  CHECK(check_framing(header_of(11, {{http::field::host, "x"}, {http::field::transfer_encoding, "gzip"},
                                     {http::field::content_length, "4"}}),
                      false) == request_verdict::bad_request);
}

TEST_CASE("origins compare as RFC 6454 serialises them") {
  CHECK(serialized_origin("https://app.example.com") == "https://app.example.com");
  CHECK(serialized_origin("HTTPS://App.Example.COM") == "https://app.example.com");
  CHECK(serialized_origin("https://app.example.com:443") == "https://app.example.com");
  CHECK(serialized_origin("http://app.example.com:80") == "http://app.example.com");
  CHECK(serialized_origin("http://app.example.com:8080") == "http://app.example.com:8080");
  CHECK(serialized_origin("https://app.example.com:80") == "https://app.example.com:80");
  CHECK(serialized_origin("null") == "null");
}

}  // namespace net_request_rules_test
