// core_address_limiter_test.cpp — new connections per client address (issue 13, overload): a
// burst, then the sustained rate with the wait in retry_after; addresses apart; bounded memory.
#include "core/address_limiter.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace core_address_limiter_test {  // unity builds compile several test files as one unit

using dh::core::address_limit_settings;
using dh::core::address_limiter;
using dh::core::steady_time;
using namespace std::chrono_literals;

namespace {
const steady_time t0 = steady_time{} + 1h;
}  // namespace

TEST_CASE("off by default: every connection passes and nothing is remembered") {
  address_limiter limiter({});
  CHECK_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) CHECK(limiter.on_connection("10.0.0.1", t0).allowed);
  CHECK(limiter.tracked() == 0);
}

TEST_CASE("a burst of twice the rate, then the rate, with the wait said") {
  address_limiter limiter({.per_second = 5});
  for (int i = 0; i < 10; ++i) CHECK(limiter.on_connection("10.0.0.1", t0).allowed);
  const auto refused = limiter.on_connection("10.0.0.1", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 200ms);  // one token at 5 per second
  CHECK_FALSE(limiter.on_connection("10.0.0.1", t0 + 199ms).allowed);
  CHECK(limiter.on_connection("10.0.0.1", t0 + 400ms).allowed);
  // Another address has its own bucket.
  CHECK(limiter.on_connection("10.0.0.2", t0).allowed);
}

TEST_CASE("an explicit burst, and a rate below one a second still lets one through") {
  address_limiter limiter({.per_second = 0.5, .burst = 3});
  for (int i = 0; i < 3; ++i) CHECK(limiter.on_connection("::1", t0).allowed);
  const auto refused = limiter.on_connection("::1", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 2000ms);
  CHECK(limiter.on_connection("::1", t0 + 2s).allowed);
}

TEST_CASE("memory stays bounded: refilled addresses are forgotten first, and busy ones at worst all") {
  address_limiter limiter({.per_second = 1, .burst = 1, .max_tracked = 100});
  for (int i = 0; i < 100; ++i) CHECK(limiter.on_connection("10.1.0." + std::to_string(i), t0).allowed);
  CHECK(limiter.tracked() == 100);
  // A second later every bucket is full again: the next new address makes room by forgetting them.
  CHECK(limiter.on_connection("10.2.0.1", t0 + 1s).allowed);
  CHECK(limiter.tracked() == 1);
  // All busy at once: the table is cleared rather than grown.
  for (int i = 0; i < 99; ++i) (void)limiter.on_connection("10.3.0." + std::to_string(i), t0 + 1s);
  CHECK(limiter.tracked() == 100);
  CHECK(limiter.on_connection("10.4.0.1", t0 + 1s).allowed);
  CHECK(limiter.tracked() <= 100);
}

}  // namespace core_address_limiter_test
