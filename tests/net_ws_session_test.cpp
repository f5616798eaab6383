// net_ws_session_test.cpp — the WebSocket contract end to end over real loopback sockets against
// the in-process server: every row of SPEC §2 that a client can cause, and the happy path.
#include "support/redis_server.hpp"
#include "support/sessions.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <vector>

namespace net_ws_session_test {  // unity builds compile several test files as one unit

using namespace dh::test;
using namespace std::chrono_literals;
namespace json = boost::json;

TEST_CASE("a valid token gets connection_success, pong and subscription replies") {
  test_server srv;
  ws_client c;
  REQUIRE(c.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  auto hello = c.read_json();
  CHECK(type_of(hello) == "connection_success");
  const auto& p = hello.at("payload").as_object();
  CHECK(p.at("userId") == json::value(1));  // canonical integers are numbers (seed 000)
  CHECK(p.at("sessionId").is_string());
  CHECK(p.at("heartbeatSec") == json::value(30));
  CHECK(p.at("recovered") == json::value(false));
  CHECK(hello.at("timestamp").as_string().ends_with("Z"));

  SUBCASE("ping is answered with the same payload") {
    c.send_ping({{"timestamp", "2026-01-03T10:30:00Z"}, {"n", 7}});
    auto pong = c.read_json();
    CHECK(type_of(pong) == "pong");
    CHECK(json::serialize(pong.at("payload")) == R"({"timestamp":"2026-01-03T10:30:00Z","n":7})");
  }
  SUBCASE("subscribe gives subscribed then a dashboard_update; unsubscribe confirms") {
    c.send_json({{"type", "subscribe_dashboard"}, {"payload", {{"userId", 1}}}});
    auto subscribed = c.read_json();
    CHECK(type_of(subscribed) == "subscribed");
    CHECK(subscribed.at("payload").at("userId") == json::value(1));
    auto update = c.read_json();
    CHECK(type_of(update) == "dashboard_update");
    const auto& stats = update.at("payload").as_object();
    CHECK(stats.at("totalTasks") == json::value(0));
    CHECK(stats.at("completedTasks") == json::value(0));
    CHECK(stats.at("pendingTasks") == json::value(0));
    CHECK(stats.contains("updatedAt"));
    c.send_json({{"type", "unsubscribe_dashboard"}, {"payload", {{"userId", "1"}}}});
    CHECK(type_of(c.read_json()) == "unsubscribed");
  }
  SUBCASE("subscribing to another user's dashboard fails and the connection stays") {
    c.send_json({{"type", "subscribe_dashboard"}, {"payload", {{"userId", 2}}}});
    auto error = c.read_json();
    CHECK(error_code_of(error) == "SUBSCRIPTION_FAILED");
    CHECK(error.at("payload").at("requestType") == json::value("subscribe_dashboard"));
    c.send_ping();
    CHECK(type_of(c.read_json()) == "pong");
  }
  SUBCASE("acks are accepted silently") {
    c.send_json({{"type", "ack"}, {"payload", {{"ids", json::array{"1", "2"}}}}});
    c.send_ping();
    CHECK(type_of(c.read_json()) == "pong");
  }
}

TEST_CASE("string user ids and the Authorization header") {
  test_server srv;
  ws_client c;
  REQUIRE(c.connect(srv.port(), "/ws/dashboard/user-456", {{"Authorization", "Bearer " + make_token("user-456")}}));
  auto hello = c.read_json();
  CHECK(hello.at("payload").at("userId") == json::value("user-456"));
}

TEST_CASE("the subject may come from userId or user_id claims") {
  test_server srv;
  for (const char* claim : {"userId", "user_id"}) {
    ws_client c;
    REQUIRE(c.connect(srv.port(), srv.ws_target("42", make_token("42", 1h, claim))));
    CHECK(type_of(c.read_json()) == "connection_success");
  }
}

TEST_CASE("authentication failures send the error and then the close code") {
  test_server srv;
  ws_client c;
  SUBCASE("missing token") {
    REQUIRE(c.connect(srv.port(), "/ws/dashboard/1"));
    expect_error_then_close(c, "AUTH_INVALID", 4001);
  }
  SUBCASE("malformed token") {
    REQUIRE(c.connect(srv.port(), srv.ws_target("1", "not-a-jwt")));
    expect_error_then_close(c, "AUTH_INVALID", 4001);
  }
  SUBCASE("badly signed token") {
    auto token = make_token("1");
    token.back() = token.back() == 'A' ? 'B' : 'A';
    REQUIRE(c.connect(srv.port(), srv.ws_target("1", token)));
    expect_error_then_close(c, "AUTH_INVALID", 4001);
  }
  SUBCASE("token for another user") {
    REQUIRE(c.connect(srv.port(), srv.ws_target("1", make_token("2"))));
    expect_error_then_close(c, "AUTH_INVALID", 4001);
  }
  SUBCASE("expired token") {
    REQUIRE(c.connect(srv.port(), srv.ws_target("1", make_token("1", -1h))));
    expect_error_then_close(c, "AUTH_EXPIRED", 4002);
  }
  SUBCASE("invalid user id in the path") {
    REQUIRE(c.connect(srv.port(), srv.ws_target("bad%21id", make_token("1"))));
    expect_error_then_close(c, "USER_NOT_FOUND", 4004);
  }
}

TEST_CASE("a sixth connection of one user is refused and the first five stay") {
  test_server srv;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<ws_client>());
    open_session(*clients.back(), srv, "7");
  }
  ws_client sixth;
  REQUIRE(sixth.connect(srv.port(), srv.ws_target("7", make_token("7"))));
  expect_error_then_close(sixth, "CONNECTION_LIMIT", 4008);
  for (auto& c : clients) {
    c->send_ping();
    CHECK(type_of(c->read_json()) == "pong");
  }
  ws_client other_user;
  open_session(other_user, srv, "8");  // the limit is per user

  clients.pop_back();  // closing one frees a slot
  for (int attempt = 0; attempt < 100; ++attempt) {
    ws_client again;
    REQUIRE(again.connect(srv.port(), srv.ws_target("7", make_token("7"))));
    if (type_of(again.read_json()) == "connection_success") return;
  }
  FAIL("the slot of a closed connection was never freed");
}

TEST_CASE("malformed input is INVALID_MESSAGE with the matching close code") {
  auto settings = default_settings();
  settings.max_message_bytes = 1024;
  test_server srv(settings);
  ws_client c;
  open_session(c, srv, "1");
  SUBCASE("not JSON") {
    c.send_text("{oops");
    expect_error_then_close(c, "INVALID_MESSAGE", 1008);
  }
  SUBCASE("not an object") {
    c.send_text("[1,2]");
    expect_error_then_close(c, "INVALID_MESSAGE", 1008);
  }
  SUBCASE("unknown type") {
    c.send_json({{"type", "drop_tables"}, {"payload", json::object{}}});
    expect_error_then_close(c, "INVALID_MESSAGE", 1008);
  }
  SUBCASE("wrong field type") {
    c.send_json({{"type", "subscribe_dashboard"}, {"payload", {{"userId", json::array{}}}}});
    expect_error_then_close(c, "INVALID_MESSAGE", 1008);
  }
  SUBCASE("binary frame") {
    c.send_binary("\x01\x02");
    expect_error_then_close(c, "INVALID_MESSAGE", 1008);
  }
  SUBCASE("oversize message") {
    c.send_text(std::string(4096, ' ') + "{}");
    expect_error_then_close(c, "INVALID_MESSAGE", 1009);
  }
  SUBCASE("bad UTF-8 fails the connection with 1007") {
    // RFC 6455 §8.1: Beast fails the connection itself on invalid UTF-8, before any reply.
    c.send_text("{\"type\":\"ping\",\"payload\":{\"x\":\"\xff\xfe\"}}");
    CHECK(c.read_until_close() == 1007);
  }
}

TEST_CASE("a flooding client is warned with retryAfterMs, then closed with 4029") {
  test_server srv;
  ws_client c;
  open_session(c, srv, "1");
  for (int i = 0; i < 40; ++i) c.send_ping();
  int pongs = 0;
  bool warned = false;
  for (;;) {
    auto text = c.read_text(5s);
    if (!text) break;
    auto m = json::parse(*text).as_object();
    if (type_of(m) == "pong") ++pongs;
    if (type_of(m) == "error" && error_code_of(m) == "RATE_LIMITED") {
      warned = true;
      CHECK(m.at("payload").at("retryAfterMs").as_int64() > 0);
    }
  }
  CHECK(pongs == 10);  // the bucket holds one second's worth
  CHECK(warned);
  CHECK_FALSE(c.is_open());
}

TEST_CASE("an idle connection is closed with IDLE_TIMEOUT") {
  auto settings = default_settings();
  settings.liveness.idle_timeout = 300ms;
  settings.liveness.ping_interval = std::chrono::steady_clock::duration::zero();
  test_server srv(settings);
  ws_client c;
  open_session(c, srv, "1");
  expect_error_then_close(c, "IDLE_TIMEOUT", 4000);
}

TEST_CASE("a peer that answers no pings is dropped after missing two") {
  auto settings = default_settings();
  settings.liveness.ping_interval = 100ms;
  settings.close_grace = 200ms;  // a deaf peer never answers the close either: hang up soon after
  test_server srv(settings);
  ws_client c;
  open_session(c, srv, "1");
  // This client reads the pings but never answers them: after two, the server closes with 4000.
  CHECK(c.read_deaf_until_close() == 4000);
}

TEST_CASE("token expiry during a session, and refresh_token") {
  // Leeway 0 and a token that lives one second: the session must end with AUTH_EXPIRED.
  test_server srv(default_settings(), hs256_settings(0s));
  SUBCASE("expiry closes the session") {
    ws_client c;
    REQUIRE(c.connect(srv.port(), srv.ws_target("1", make_token("1", 1s))));
    CHECK(type_of(c.read_json()) == "connection_success");
    expect_error_then_close(c, "AUTH_EXPIRED", 4002);
  }
  SUBCASE("a refreshed token keeps it open past the old expiry") {
    // No window of waiting for nothing: a second session whose token expires at least a second
    // after the refreshed one's old expiry is the witness. Its AUTH_EXPIRED means the old expiry
    // has passed on the server's own timers.
    ws_client refreshed;
    REQUIRE(refreshed.connect(srv.port(), srv.ws_target("1", make_token("1", 1s))));
    CHECK(type_of(refreshed.read_json()) == "connection_success");
    refreshed.send_json({{"type", "refresh_token"}, {"payload", {{"token", make_token("1", 1h)}}}});
    refreshed.send_ping();
    CHECK(type_of(refreshed.read_json()) == "pong");  // the refresh was taken
    ws_client witness;
    REQUIRE(witness.connect(srv.port(), srv.ws_target("1", make_token("1", 2s))));
    CHECK(type_of(witness.read_json()) == "connection_success");
    expect_error_then_close(witness, "AUTH_EXPIRED", 4002);
    REQUIRE(refreshed.is_open());
    refreshed.send_ping();
    CHECK(type_of(refreshed.read_json()) == "pong");
  }
  SUBCASE("a refresh token for another user closes with AUTH_INVALID") {
    ws_client c;
    open_session(c, srv, "1");
    c.send_json({{"type", "refresh_token"}, {"payload", {{"token", make_token("2", 1h)}}}});
    expect_error_then_close(c, "AUTH_INVALID", 4001);
  }
}

TEST_CASE("shutdown tells every session and closes with 1001") {
  auto srv = std::make_unique<test_server>();
  ws_client c;
  open_session(c, *srv, "1");
  srv->server().shut_down();
  auto status = c.read_json();
  CHECK(type_of(status) == "connection_status");
  CHECK(status.at("payload").at("status") == json::value("disconnected"));
  CHECK(c.read_until_close() == 1001);
}

TEST_CASE("the 101 goes out in one send with connection_success, or with the refusal") {
  test_server srv;
  SUBCASE("accepted") {
    const auto bytes = raw_first_read(srv.port(), upgrade_request(srv.ws_target("1", make_token("1"))));
    CHECK(bytes.starts_with("HTTP/1.1 101"));
    // In Redis mode admission waits on Redis, so the 101 goes out before it, on its own.
    if (!redis_mode()) CHECK(bytes.find("\"connection_success\"") != std::string::npos);
  }
  SUBCASE("refused after the upgrade: the error envelope comes with it") {
    const auto bytes = raw_first_read(srv.port(), upgrade_request(srv.ws_target("1", "not-a-token")));
    CHECK(bytes.starts_with("HTTP/1.1 101"));
    CHECK(bytes.find("AUTH_INVALID") != std::string::npos);
  }
  SUBCASE("refused by the WebSocket handshake itself: its HTTP answer is not held back") {
    const auto bytes = raw_exchange(srv.port(), upgrade_request(srv.ws_target("1", make_token("1")), {}, "12"));
    CHECK(bytes.starts_with("HTTP/1.1 426"));
    CHECK(bytes.find("Sec-WebSocket-Version: 13") != std::string::npos);
  }
}

}  // namespace net_ws_session_test
