// core_rate_limiter_test.cpp — the per-connection token bucket of SPEC §2 (RATE_LIMITED/4029):
// burst, drop with retryAfter, block, refill, escalation to close and forgetting strikes.
#include "core/rate_limiter.hpp"

#include <doctest/doctest.h>

#include <chrono>

namespace core_rate_limiter_test {  // unity builds compile several test files as one unit

using dh::core::rate_limit_settings;
using dh::core::rate_limiter;
using dh::core::steady_time;
using namespace std::chrono_literals;
using verdict = rate_limiter::verdict;

namespace {

const steady_time t0 = steady_time{} + 1h;

// Sends `n` messages at `now` and checks that each one is allowed.
void expect_allowed(rate_limiter& limiter, int n, steady_time now) {
  for (int i = 0; i < n; ++i) {
    CAPTURE(i);
    const auto d = limiter.on_message(now);
    REQUIRE(d.what == verdict::allow);
  }
}

}  // namespace

TEST_CASE("rate limiter allows a burst of per_second messages, then drops") {
  rate_limiter limiter({}, t0);  // 10/s, block 1 s
  expect_allowed(limiter, 10, t0);
  const auto eleventh = limiter.on_message(t0);
  CHECK(eleventh.what == verdict::drop);
  CHECK(eleventh.retry_after > 0ms);
  CHECK(eleventh.retry_after == 1000ms);
}

TEST_CASE("rate limiter refuses for the block period with the remaining time as retry_after") {
  rate_limiter limiter({}, t0);
  expect_allowed(limiter, 10, t0);
  REQUIRE(limiter.on_message(t0).what == verdict::drop);  // blocked until t0 + 1 s

  SUBCASE("whole milliseconds") {
    const auto d = limiter.on_message(t0 + 300ms);
    CHECK(d.what == verdict::drop);
    CHECK(d.retry_after == 700ms);
    const auto later = limiter.on_message(t0 + 999ms);
    CHECK(later.what == verdict::drop);
    CHECK(later.retry_after == 1ms);
  }
  SUBCASE("a partial millisecond rounds up, never to zero") {
    const auto d = limiter.on_message(t0 + 250'500us);
    CHECK(d.what == verdict::drop);
    CHECK(d.retry_after == 750ms);
    const auto last = limiter.on_message(t0 + 999'900us);
    CHECK(last.what == verdict::drop);
    CHECK(last.retry_after == 1ms);
  }
  SUBCASE("the refill during the block does not lift it early") {
    // 0.5 s refills five tokens, but the block holds until t0 + 1 s.
    CHECK(limiter.on_message(t0 + 500ms).what == verdict::drop);
  }
}

TEST_CASE("rate limiter allows messages again after the block and refill") {
  rate_limiter limiter({}, t0);
  expect_allowed(limiter, 10, t0);
  REQUIRE(limiter.on_message(t0).what == verdict::drop);
  expect_allowed(limiter, 10, t0 + 1s);
  CHECK(limiter.on_message(t0 + 1s).what == verdict::drop);
}

TEST_CASE("rate limiter refills continuously at per_second") {
  rate_limiter limiter({}, t0);
  expect_allowed(limiter, 10, t0);
  // 100 ms at 10/s is one token.
  CHECK(limiter.on_message(t0 + 100ms).what == verdict::allow);
  CHECK(limiter.on_message(t0 + 100ms).what == verdict::drop);
}

TEST_CASE("rate limiter sustains exactly its rate") {
  rate_limiter limiter({}, t0);
  expect_allowed(limiter, 10, t0);
  for (int i = 1; i <= 50; ++i) {
    CAPTURE(i);
    REQUIRE(limiter.on_message(t0 + i * 100ms).what == verdict::allow);
  }
}

TEST_CASE("rate limiter does not bank more than one second of tokens") {
  rate_limiter limiter({}, t0);
  // An hour of silence still refills only ten tokens.
  expect_allowed(limiter, 10, t0 + 1h);
  CHECK(limiter.on_message(t0 + 1h).what == verdict::drop);
}

TEST_CASE("rate limiter closes after max_strikes violations") {
  SUBCASE("default settings: ten strikes") {
    rate_limiter limiter({}, t0);
    expect_allowed(limiter, 10, t0);
    for (int strike = 1; strike < 10; ++strike) {
      CAPTURE(strike);
      REQUIRE(limiter.on_message(t0 + strike * 10ms).what == verdict::drop);
    }
    const auto d = limiter.on_message(t0 + 100ms);
    CHECK(d.what == verdict::close);
  }
  SUBCASE("three strikes spread over separate blocks") {
    rate_limit_settings s;
    s.max_strikes = 3;
    rate_limiter limiter(s, t0);
    expect_allowed(limiter, 10, t0);
    CHECK(limiter.on_message(t0).what == verdict::drop);  // strike 1, blocked to t0+1s
    expect_allowed(limiter, 10, t0 + 1s);
    CHECK(limiter.on_message(t0 + 1s).what == verdict::drop);  // strike 2
    expect_allowed(limiter, 10, t0 + 2s);
    CHECK(limiter.on_message(t0 + 2s).what == verdict::close);  // strike 3
  }
}

TEST_CASE("rate limiter forgets strikes after strike_memory") {
  rate_limit_settings s;
  s.max_strikes = 3;
  s.strike_memory = 10s;
  rate_limiter limiter(s, t0);
  expect_allowed(limiter, 10, t0);
  REQUIRE(limiter.on_message(t0).what == verdict::drop);  // strike 1
  REQUIRE(limiter.on_message(t0).what == verdict::drop);  // strike 2

  SUBCASE("within memory the next strike closes") {
    expect_allowed(limiter, 10, t0 + 5s);
    CHECK(limiter.on_message(t0 + 5s).what == verdict::close);
  }
  SUBCASE("after memory the count starts again") {
    const auto later = t0 + 10s + 1ms;
    expect_allowed(limiter, 10, later);
    CHECK(limiter.on_message(later).what == verdict::drop);  // strike 1 again
    CHECK(limiter.on_message(later).what == verdict::drop);  // strike 2
    CHECK(limiter.on_message(later).what == verdict::close);
  }
}

TEST_CASE("rate limiter with per_second 0 is disabled") {
  rate_limit_settings s;
  s.per_second = 0;
  rate_limiter limiter(s, t0);
  for (int i = 0; i < 1000; ++i) {
    const auto d = limiter.on_message(t0);
    REQUIRE(d.what == verdict::allow);
  }
  CHECK(limiter.on_message(t0 + 1ms).retry_after == 0ms);
}

TEST_CASE("rate limiter honours a custom block") {
  rate_limit_settings s;
  s.per_second = 2;
  s.block = 5s;
  rate_limiter limiter(s, t0);
  expect_allowed(limiter, 2, t0);
  const auto d = limiter.on_message(t0);
  CHECK(d.what == verdict::drop);
  CHECK(d.retry_after == 5s);
  CHECK(limiter.on_message(t0 + 4s).retry_after == 1s);
  CHECK(limiter.on_message(t0 + 5s).what == verdict::allow);
}

TEST_CASE("rate limiter with a rate below one message per second still lets messages through") {
  // --rate-limit accepts fractions ("0.5" = one message every two seconds), but a bucket that
  // holds less than one token can never pay for a message.
  rate_limit_settings s;
  s.per_second = 0.5;
  rate_limiter limiter(s, t0);
  CHECK(limiter.on_message(t0).what == verdict::allow);
  CHECK(limiter.on_message(t0 + 2s).what == verdict::allow);
  CHECK(limiter.on_message(t0 + 4s).what == verdict::allow);
}

}  // namespace core_rate_limiter_test
