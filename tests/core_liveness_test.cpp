// core_liveness_test.cpp — when a session pings and when it ends (SPEC §2): ping interval,
// two missed pongs, idle timeout, token expiry priority and next_deadline, driven by `now`.
#include "core/liveness.hpp"

#include <doctest/doctest.h>

#include <chrono>

namespace core_liveness_test {  // unity builds compile several test files as one unit

using dh::core::liveness;
using dh::core::liveness_settings;
using dh::core::steady_time;
using namespace std::chrono_literals;
using action = liveness::action;

namespace {

const steady_time t0 = steady_time{} + 1h;

liveness_settings settings(std::chrono::steady_clock::duration ping, std::chrono::steady_clock::duration idle) {
  liveness_settings s;
  s.ping_interval = ping;
  s.idle_timeout = idle;
  return s;
}

}  // namespace

TEST_CASE("liveness sends the first ping at ping_interval") {
  liveness live({}, t0);  // ping 30 s, idle 10 min
  CHECK(live.next_deadline() == t0 + 30s);
  CHECK(live.poll(t0) == action::none);
  CHECK(live.poll(t0 + 29s) == action::none);
  CHECK(live.poll(t0 + 30s) == action::send_ping);
  // The ping is recorded as sent: polling again at once has nothing to do.
  CHECK(live.poll(t0 + 30s) == action::none);
  CHECK(live.next_deadline() == t0 + 60s);
}

TEST_CASE("liveness: two unanswered pings make the peer unresponsive at the third interval") {
  liveness live({}, t0);
  CHECK(live.poll(t0 + 30s) == action::send_ping);
  CHECK(live.poll(t0 + 60s) == action::send_ping);  // first ping missed
  CHECK(live.poll(t0 + 89s) == action::none);
  CHECK(live.poll(t0 + 90s) == action::unresponsive);  // second ping missed
}

TEST_CASE("liveness: a pong resets the missed-ping count") {
  liveness live({}, t0);
  CHECK(live.poll(t0 + 30s) == action::send_ping);
  CHECK(live.poll(t0 + 60s) == action::send_ping);  // one missed
  live.on_pong(t0 + 61s);
  CHECK(live.poll(t0 + 90s) == action::send_ping);
  CHECK(live.poll(t0 + 120s) == action::send_ping);  // one missed again, not two
  CHECK(live.poll(t0 + 150s) == action::unresponsive);
}

TEST_CASE("liveness: a peer that answers every ping stays alive") {
  liveness live({}, t0);
  for (int i = 1; i <= 100; ++i) {
    CAPTURE(i);
    REQUIRE(live.poll(t0 + i * 30s) == action::send_ping);
    live.on_pong(t0 + i * 30s + 100ms);
  }
}

TEST_CASE("liveness: a client message also answers for a missed ping") {
  liveness live({}, t0);
  CHECK(live.poll(t0 + 30s) == action::send_ping);
  CHECK(live.poll(t0 + 60s) == action::send_ping);
  live.on_client_message(t0 + 70s);
  CHECK(live.poll(t0 + 90s) == action::send_ping);
}

TEST_CASE("liveness: idle_timeout fires when the client sends nothing") {
  liveness live(settings(0s, 60s), t0);
  CHECK(live.next_deadline() == t0 + 60s);
  CHECK(live.poll(t0 + 59s) == action::none);
  CHECK(live.poll(t0 + 60s) == action::idle_timeout);
}

TEST_CASE("liveness: the default idle timeout is ten minutes") {
  CHECK(liveness_settings{}.idle_timeout == 10min);
  CHECK(liveness_settings{}.ping_interval == 30s);
  liveness quiet(settings(0s, liveness_settings{}.idle_timeout), t0);
  CHECK(quiet.poll(t0 + 10min - 1ms) == action::none);
  CHECK(quiet.poll(t0 + 10min) == action::idle_timeout);
}

TEST_CASE("liveness: client messages postpone idle") {
  liveness live(settings(0s, 60s), t0);
  live.on_client_message(t0 + 50s);
  CHECK(live.next_deadline() == t0 + 110s);
  CHECK(live.poll(t0 + 60s) == action::none);
  CHECK(live.poll(t0 + 109s) == action::none);
  CHECK(live.poll(t0 + 110s) == action::idle_timeout);
}

TEST_CASE("liveness: a pong postpones idle too") {
  liveness live(settings(0s, 60s), t0);
  live.on_pong(t0 + 40s);
  CHECK(live.poll(t0 + 60s) == action::none);
  CHECK(live.poll(t0 + 100s) == action::idle_timeout);
}

TEST_CASE("liveness: idle_timeout 0 never idles out") {
  liveness live(settings(0s, 0s), t0);
  CHECK(live.next_deadline() == steady_time::max());
  CHECK(live.poll(t0 + 24h * 365) == action::none);
}

TEST_CASE("liveness: the token deadline gives token_expired") {
  liveness live({}, t0);
  live.set_token_deadline(t0 + 20s);
  CHECK(live.next_deadline() == t0 + 20s);
  CHECK(live.poll(t0 + 19s) == action::none);
  CHECK(live.poll(t0 + 20s) == action::token_expired);
  SUBCASE("a client message does not extend it") {
    live.on_client_message(t0 + 21s);
    CHECK(live.poll(t0 + 21s) == action::token_expired);
  }
  SUBCASE("a refreshed deadline does") {
    live.set_token_deadline(t0 + 3600s);
    CHECK(live.poll(t0 + 21s) == action::none);
    CHECK(live.next_deadline() == t0 + 30s);
  }
}

TEST_CASE("liveness: token_expired takes priority over idle and ping") {
  liveness live(settings(45s, 45s), t0);
  live.set_token_deadline(t0 + 45s);
  CHECK(live.poll(t0 + 45s) == action::token_expired);
  SUBCASE("idle comes before ping") {
    liveness other(settings(45s, 45s), t0);
    CHECK(other.poll(t0 + 45s) == action::idle_timeout);
  }
}

TEST_CASE("liveness: next_deadline is the earliest of token, idle and ping") {
  liveness live(settings(30s, 600s), t0);
  CHECK(live.next_deadline() == t0 + 30s);  // ping
  live.set_token_deadline(t0 + 10s);
  CHECK(live.next_deadline() == t0 + 10s);  // token
  live.set_token_deadline(t0 + 3600s);

  liveness idle_first(settings(30s, 20s), t0);
  CHECK(idle_first.next_deadline() == t0 + 20s);  // idle
  idle_first.on_client_message(t0 + 15s);
  CHECK(idle_first.next_deadline() == t0 + 30s);  // ping now comes first

  liveness after_ping(settings(30s, 600s), t0);
  REQUIRE(after_ping.poll(t0 + 31s) == action::send_ping);
  CHECK(after_ping.next_deadline() == t0 + 61s);  // next ping counts from when it was sent
}

TEST_CASE("liveness: ping_interval 0 disables pings") {
  liveness live(settings(0s, 600s), t0);
  CHECK(live.next_deadline() == t0 + 600s);
  for (auto at : {t0 + 30s, t0 + 60s, t0 + 90s, t0 + 599s}) CHECK(live.poll(at) == action::none);
  CHECK(live.poll(t0 + 600s) == action::idle_timeout);
}

TEST_CASE("liveness: max_missed_pongs is configurable") {
  liveness_settings s;
  s.max_missed_pongs = 1;
  liveness live(s, t0);
  CHECK(live.poll(t0 + 30s) == action::send_ping);
  CHECK(live.poll(t0 + 60s) == action::unresponsive);
}

}  // namespace core_liveness_test
