// net_hostile_test.cpp — issue 13's hostile clients, all at once: a thousand handshakes that never
// finish, a thousand upgrades without tokens, oversize and endlessly fragmented messages, invalid
// UTF-8, deep JSON nesting, a client that never reads and one that never answers pings. Meanwhile
// a normal client's ping→pong stays fast, and afterwards the server is healthy and holds nothing
// of the crowd.
#include "support/sessions.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace net_hostile_test {  // unity builds compile several test files as one unit

using namespace dh::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Sanitizers slow every instruction several times over: the bound that matters is the plain
// build's; theirs only catches a stall.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr auto pong_bound = 500ms;
#else
constexpr auto pong_bound = 100ms;
#endif

// `n` connections that each send `bytes` and then nothing, reading nothing, until destroyed.
struct crowd {
  asio::io_context ioc;
  std::vector<tcp::socket> sockets;

  crowd(std::uint16_t port, int n, const std::string& bytes) {
    sockets.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto& s = sockets.emplace_back(ioc);
      s.connect({asio::ip::make_address("127.0.0.1"), port});
      asio::write(s, asio::buffer(bytes));
    }
  }
};

// A client frame masked with the key 0, so the payload reads as it is.
std::string frame(unsigned char first_byte, const std::string& payload) {
  std::string f(1, static_cast<char>(first_byte));
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  }
  return f + std::string(4, '\0') + payload;
}

std::chrono::microseconds pong_latency(ws_client& c) {
  const auto start = std::chrono::steady_clock::now();
  c.send_ping({{"probe", true}});
  const auto reply = c.read_json();
  REQUIRE(type_of(reply) == "pong");
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

TEST_CASE("hostile clients together do not slow a normal client, and leave nothing behind") {
  auto settings = default_settings();
  settings.max_message_bytes = 16 * 1024;
  settings.handshake_timeout = 3s;  // the closing handshakes of the refused crowd end by then
  test_server srv(settings);
  ws_client good;
  open_session(good, srv, "good");
  std::chrono::microseconds worst{0};
  const auto probe = [&] { worst = std::max(worst, pong_latency(good)); };

  {
    crowd unfinished(srv.port(), 1000, "GET /ws/dashboard/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr");
    probe();
    crowd tokenless(srv.port(), 1000, upgrade_request("/ws/dashboard/1"));
    probe();

    ws_client never_reads;
    open_session(never_reads, srv, "sleepy");
    never_reads.send_json({{"type", "subscribe_dashboard"}, {"payload", {{"userId", "sleepy"}}}});
    ws_client never_pongs;
    open_session(never_pongs, srv, "deaf");  // it will read nothing, so no pong ever goes out

    ws_client oversize;
    open_session(oversize, srv, "big");
    oversize.send_text(std::string(20 * 1024, ' ') + "{}");
    expect_error_then_close(oversize, "INVALID_MESSAGE", 1009);
    probe();

    // One byte a fragment, never finished: refused once the fragments pass the message limit.
    ws_client fragments;
    open_session(fragments, srv, "frag");
    std::string endless = frame(0x01, "[");
    for (int i = 0; i < 20 * 1024; ++i) endless += frame(0x00, "1");
    fragments.send_raw(endless);
    CHECK(fragments.read_deaf_until_close() == 1009);
    probe();

    ws_client bad_utf8;
    open_session(bad_utf8, srv, "utf");
    bad_utf8.send_raw(frame(0x81, "{\"type\":\"ping\",\"payload\":{\"x\":\"\xff\xfe\"}}"));
    CHECK(bad_utf8.read_deaf_until_close() == 1007);
    probe();

    ws_client deep;
    open_session(deep, srv, "deep");
    deep.send_text(std::string(8000, '[') + std::string(8000, ']'));
    expect_error_then_close(deep, "INVALID_MESSAGE", 1008);
    probe();

    for (int i = 0; i < 5; ++i) probe();
    MESSAGE("worst ping->pong of the normal client among hostile ones: " << worst.count() << " us");
    CHECK(worst < pong_bound);
  }

  // The crowd has hung up: the server is healthy and holds only the normal session.
  CHECK(http_get(srv.port(), "/health").status == 200);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (srv.server().connection_count() > 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();  // the crowd's sessions end on the server's threads
  CHECK(srv.server().connection_count() == 1);
  probe();
}

}  // namespace net_hostile_test
