// net_http_test.cpp — the plain HTTP routes, Origin checks, and hostile clients (garbage, a
// handshake that never completes, a flood) while a well-behaved client keeps its pong fast.
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

namespace net_http_test {  // unity builds compile several test files as one unit

using namespace dh::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

std::string type_of(const json::object& m) { return std::string(m.at("type").as_string()); }

struct raw_connection {
  asio::io_context ioc;
  tcp::socket socket{ioc};

  explicit raw_connection(std::uint16_t port) { socket.connect({asio::ip::make_address("127.0.0.1"), port}); }
  void send(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }
  std::string read_all() { return read_until_closed(socket.native_handle()); }
};

// One ping/pong round trip of a session that is already open.
std::chrono::microseconds pong_latency(ws_client& c) {
  const auto start = std::chrono::steady_clock::now();
  c.send_ping({{"probe", true}});
  auto reply = c.read_json();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(type_of(reply) == "pong");
  return std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
}

}  // namespace

TEST_CASE("plain HTTP routes") {
  test_server srv;
  CHECK(http_get(srv.port(), "/health").status == 200);
  CHECK(http_get(srv.port(), "/ready").status == 200);
  auto status = http_get(srv.port(), "/status");
  CHECK(status.status == 200);
  auto doc = json::parse(status.body).as_object();
  CHECK(doc.contains("version"));
  CHECK(doc.at("connections") == json::value(0));
  CHECK(http_get(srv.port(), "/nope").status == 404);
  CHECK(http_get(srv.port(), "/ws/dashboard/1/extra").status == 404);
  CHECK(http_get(srv.port(), "/ws/dashboard/1").status == 426);  // known path, but no upgrade
}

TEST_CASE("an unknown path refuses the upgrade with a plain 404") {
  test_server srv;
  ws_client c;
  int status = 0;
  CHECK_FALSE(c.connect(srv.port(), "/ws/elsewhere/1?token=x", {}, &status));
  CHECK(status == 404);
}

TEST_CASE("--allowed-origin refuses other browser origins") {
  auto settings = default_settings();
  settings.allowed_origins = {"https://app.example.com"};
  test_server srv(settings);
  const auto target = srv.ws_target("1", make_token("1"));
  ws_client good;
  REQUIRE(good.connect(srv.port(), target, {{"Origin", "https://app.example.com"}}));
  CHECK(type_of(good.read_json()) == "connection_success");
  ws_client evil;
  int status = 0;
  CHECK_FALSE(evil.connect(srv.port(), target, {{"Origin", "https://evil.example.net"}}, &status));
  CHECK(status == 403);
}

TEST_CASE("garbage on the socket gets 400 and does not disturb other sessions") {
  test_server srv;
  ws_client good;
  REQUIRE(good.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  CHECK(type_of(good.read_json()) == "connection_success");

  raw_connection garbage(srv.port());
  static constexpr char tls_hello_and_junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 NOT HTTP AT ALL\r\n\r\n";
  garbage.send(std::string_view(tls_hello_and_junk, sizeof tls_hello_and_junk - 1));
  CHECK(garbage.read_all().starts_with("HTTP/1.1 400"));

  raw_connection huge_header(srv.port());
  huge_header.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  CHECK(huge_header.read_all().starts_with("HTTP/1.1 4"));

  CHECK(pong_latency(good) < 100ms);
}

TEST_CASE("a handshake that never completes is cut after the handshake timeout") {
  auto settings = default_settings();
  settings.handshake_timeout = 500ms;
  test_server srv(settings);
  raw_connection slow(srv.port());
  slow.send("GET /ws/dashboard/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr");  // ...and nothing more

  ws_client good;
  REQUIRE(good.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  CHECK(type_of(good.read_json()) == "connection_success");
  CHECK(pong_latency(good) < 100ms);

  // The server hangs up on the slow client: read_all returns at EOF, well before its own 5 s limit.
  const auto start = std::chrono::steady_clock::now();
  slow.read_all();
  CHECK(std::chrono::steady_clock::now() - start < 4s);
}

TEST_CASE("a flooding client does not slow down a well-behaved one") {
  test_server srv;
  ws_client good;
  REQUIRE(good.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  CHECK(type_of(good.read_json()) == "connection_success");

  std::atomic<bool> flooding{true};
  std::jthread flooder([&] {
    ws_client bad;
    if (!bad.connect(srv.port(), srv.ws_target("2", make_token("2")))) return;
    const std::string junk = R"({"type":"ping","payload":{"pad":")" + std::string(512, 'x') + R"("}})";
    try {
      for (int i = 0; i < 20000 && flooding; ++i) bad.send_text(junk);
    } catch (const std::exception&) {
      // The server closed us (4029): that is the point.
    }
  });
  std::chrono::microseconds worst{0};
  for (int i = 0; i < 5; ++i) worst = std::max(worst, pong_latency(good));
  flooding = false;
  CHECK(worst < 100ms);
}

TEST_CASE("--reuse-port lets a second instance listen on the same port; without it the bind fails") {
  auto first_settings = default_settings();
  first_settings.reuse_port = true;
  test_server first(first_settings);
  auto second_settings = default_settings();
  second_settings.port = first.port();
  second_settings.reuse_port = true;
  test_server second(second_settings);
  CHECK(second.port() == first.port());
  for (int i = 0; i < 4; ++i) CHECK(http_get(first.port(), "/health").status == 200);  // whichever instance answers

  auto lone_settings = default_settings();
  lone_settings.port = first.port();
  CHECK_THROWS_AS(test_server{lone_settings}, boost::system::system_error);
}

TEST_CASE("the live dashboard page is served from the binary with its security headers") {
  test_server srv;
  const auto page = raw_exchange(srv.port(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  REQUIRE(page.starts_with("HTTP/1.1 200"));
  CHECK(page.find("Content-Type: text/html; charset=utf-8\r\n") != std::string::npos);
  CHECK(page.find("Content-Security-Policy: default-src 'none'; script-src 'self';") != std::string::npos);
  CHECK(page.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
  CHECK(page.find("Cache-Control: no-cache\r\n") != std::string::npos);
  CHECK(page.find("Referrer-Policy: no-referrer\r\n") != std::string::npos);
  CHECK(page.find("<script type=\"module\" src=\"/app.js\">") != std::string::npos);

  const auto etag_at = page.find("ETag: ");
  REQUIRE(etag_at != std::string::npos);
  const auto etag = page.substr(etag_at + 6, page.find("\r\n", etag_at) - etag_at - 6);
  const auto again = raw_exchange(srv.port(), "GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag +
                                                  "\r\nConnection: close\r\n\r\n");
  CHECK(again.starts_with("HTTP/1.1 304"));
  CHECK(again.find("<html") == std::string::npos);
  CHECK(again.find("Content-Length") == std::string::npos);
  // The weak form and a list match too (a proxy that compresses marks the tag weak).
  const auto weak = raw_exchange(srv.port(), "GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\", W/" + etag +
                                                 "\r\nConnection: close\r\n\r\n");
  CHECK(weak.starts_with("HTTP/1.1 304"));

  // HEAD: the GET's headers, Content-Length included, and no body.
  const auto head = raw_exchange(srv.port(), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  REQUIRE(head.starts_with("HTTP/1.1 200"));
  const auto body_at = page.find("\r\n\r\n") + 4;
  CHECK(head.find("Content-Length: " + std::to_string(page.size() - body_at) + "\r\n") != std::string::npos);
  CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());

  for (const std::string file : {"/app.js", "/dashboard-client.js"}) {
    const auto js = raw_exchange(srv.port(), "GET " + file + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(js.starts_with("HTTP/1.1 200"));
    CHECK(js.find("Content-Type: text/javascript; charset=utf-8\r\n") != std::string::npos);
  }
  CHECK(http_get(srv.port(), "/style.css").status == 200);
  CHECK(http_post(srv.port(), "/", "x").status == 405);
  CHECK(http_get(srv.port(), "/index.html").status == 404);  // one name per file
}

}  // namespace net_http_test
