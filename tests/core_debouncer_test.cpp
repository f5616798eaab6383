// core_debouncer_test.cpp — the per-user dashboard_update gate of SPEC §1: at most one per second,
// leading edge at once, trailing edge with the latest stats, unchanged stats never resent.
#include "core/debouncer.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>

namespace core_debouncer_test {  // unity builds compile several test files as one unit

using dh::core::debouncer;
using dh::core::steady_time;
using dh::protocol::dashboard_stats;
using namespace std::chrono_literals;

namespace {

const steady_time t0 = steady_time{} + 1h;

dashboard_stats stats(std::int64_t total, std::int64_t completed) {
  dashboard_stats s;
  s.total_tasks = total;
  s.completed_tasks = completed;
  return s;
}

void check_sent(const debouncer::decision& d, std::int64_t total, std::int64_t completed) {
  REQUIRE(d.send.has_value());
  CHECK(d.send->total_tasks == total);
  CHECK(d.send->completed_tasks == completed);
}

void check_nothing(const debouncer::decision& d) {
  CHECK_FALSE(d.send.has_value());
  CHECK_FALSE(d.wake_at.has_value());
}

}  // namespace

TEST_CASE("debouncer sends the first stats at once") {
  debouncer gate;
  const auto d = gate.on_stats(stats(3, 1), t0);
  check_sent(d, 3, 1);
  CHECK_FALSE(d.wake_at.has_value());
}

TEST_CASE("debouncer holds a change within the interval and wakes at last send + interval") {
  debouncer gate;
  REQUIRE(gate.on_stats(stats(1, 0), t0).send);
  const auto d = gate.on_stats(stats(2, 0), t0 + 300ms);
  CHECK_FALSE(d.send.has_value());
  REQUIRE(d.wake_at.has_value());
  CHECK(*d.wake_at == t0 + 1s);

  SUBCASE("the trailing edge sends the held stats") {
    const auto trailing = gate.on_timer(t0 + 1s);
    check_sent(trailing, 2, 0);
    CHECK_FALSE(trailing.wake_at.has_value());
  }
  SUBCASE("further changes while the timer is armed ask for no second timer") {
    check_nothing(gate.on_stats(stats(3, 0), t0 + 400ms));
    check_nothing(gate.on_stats(stats(4, 1), t0 + 900ms));
    SUBCASE("and the trailing edge carries the latest of them") { check_sent(gate.on_timer(t0 + 1s), 4, 1); }
  }
}

TEST_CASE("debouncer honours a custom interval") {
  debouncer gate(250ms);
  REQUIRE(gate.on_stats(stats(1, 0), t0).send);
  const auto d = gate.on_stats(stats(2, 0), t0 + 100ms);
  REQUIRE(d.wake_at.has_value());
  CHECK(*d.wake_at == t0 + 250ms);
  check_sent(gate.on_timer(t0 + 250ms), 2, 0);
  check_sent(gate.on_stats(stats(3, 0), t0 + 500ms), 3, 0);
}

TEST_CASE("debouncer re-arms when the timer fires early") {
  debouncer gate;
  REQUIRE(gate.on_stats(stats(1, 0), t0).send);
  REQUIRE(gate.on_stats(stats(2, 0), t0 + 100ms).wake_at);
  const auto early = gate.on_timer(t0 + 900ms);
  CHECK_FALSE(early.send.has_value());
  REQUIRE(early.wake_at.has_value());
  CHECK(*early.wake_at == t0 + 1s);
  check_sent(gate.on_timer(t0 + 1s), 2, 0);
}

TEST_CASE("debouncer never resends unchanged stats") {
  debouncer gate;
  REQUIRE(gate.on_stats(stats(5, 2), t0).send);

  SUBCASE("the same numbers within the interval") { check_nothing(gate.on_stats(stats(5, 2), t0 + 100ms)); }
  SUBCASE("the same numbers long after the interval") { check_nothing(gate.on_stats(stats(5, 2), t0 + 1h)); }
  SUBCASE("the same numbers with a newer updatedAt") {
    auto same = stats(5, 2);
    same.updated_at = std::chrono::system_clock::time_point{} + 24h;
    check_nothing(gate.on_stats(same, t0 + 2s));
  }
  SUBCASE("a trailing edge whose pending stats returned to the last sent ones") {
    REQUIRE(gate.on_stats(stats(6, 2), t0 + 100ms).wake_at);
    check_nothing(gate.on_stats(stats(5, 2), t0 + 200ms));
    check_nothing(gate.on_timer(t0 + 1s));
    SUBCASE("and a later change is then sent at once") { check_sent(gate.on_stats(stats(7, 2), t0 + 1500ms), 7, 2); }
  }
  SUBCASE("a trailing edge with nothing pending") {
    REQUIRE(gate.on_stats(stats(6, 2), t0 + 100ms).wake_at);
    REQUIRE(gate.on_timer(t0 + 1s).send);
    check_nothing(gate.on_timer(t0 + 2s));
  }
}

TEST_CASE("debouncer: only completed changes still counts as a change") {
  debouncer gate;
  REQUIRE(gate.on_stats(stats(5, 2), t0).send);
  check_sent(gate.on_stats(stats(5, 3), t0 + 2s), 5, 3);
}

TEST_CASE("debouncer: twenty changes within one second give at most two sends") {
  debouncer gate;
  int sends = 0;
  std::optional<steady_time> wake;
  std::int64_t last_total = -1;
  for (int i = 0; i < 20; ++i) {
    const auto now = t0 + i * 50ms;  // t0 .. t0 + 950 ms
    const auto d = gate.on_stats(stats(i + 1, 0), now);
    if (d.send) {
      ++sends;
      last_total = d.send->total_tasks;
    }
    if (d.wake_at) wake = d.wake_at;
  }
  CHECK(sends == 1);  // the leading edge
  REQUIRE(wake.has_value());
  CHECK(*wake == t0 + 1s);
  const auto trailing = gate.on_timer(*wake);
  if (trailing.send) {
    ++sends;
    last_total = trailing.send->total_tasks;
  }
  CHECK(sends == 2);
  CHECK(last_total == 20);  // the clients end on the latest stats
}

TEST_CASE("debouncer sends a change at once after the interval has passed") {
  debouncer gate;
  REQUIRE(gate.on_stats(stats(1, 0), t0).send);
  SUBCASE("exactly one interval later") {
    const auto d = gate.on_stats(stats(2, 0), t0 + 1s);
    check_sent(d, 2, 0);
    CHECK_FALSE(d.wake_at.has_value());
  }
  SUBCASE("long after a trailing edge") {
    REQUIRE(gate.on_stats(stats(2, 0), t0 + 500ms).wake_at);
    REQUIRE(gate.on_timer(t0 + 1s).send);
    const auto d = gate.on_stats(stats(3, 0), t0 + 5s);
    check_sent(d, 3, 0);
    CHECK_FALSE(d.wake_at.has_value());
  }
  SUBCASE("a change just after a trailing edge waits for the next interval") {
    REQUIRE(gate.on_stats(stats(2, 0), t0 + 500ms).wake_at);
    REQUIRE(gate.on_timer(t0 + 1s).send);
    const auto d = gate.on_stats(stats(3, 0), t0 + 1200ms);
    CHECK_FALSE(d.send.has_value());
    REQUIRE(d.wake_at.has_value());
    CHECK(*d.wake_at == t0 + 2s);
  }
}

TEST_CASE("debouncer starting at the steady clock's epoch") {
  // A default-constructed last-send time must not make the first stats wait.
  debouncer gate;
  check_sent(gate.on_stats(stats(1, 1), steady_time{}), 1, 1);
  const auto d = gate.on_stats(stats(2, 1), steady_time{} + 10ms);
  REQUIRE(d.wake_at.has_value());
  CHECK(*d.wake_at == steady_time{} + 1s);
}

}  // namespace core_debouncer_test
