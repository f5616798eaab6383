// core_admission_test.cpp — connection slots in one process: the limit per user, a release that
// lets a waiting acquire in, a wait that ends in refusal, and releases of slots not held.
#include "core/local_admission.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>

namespace core_admission_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
using dh::core::admission_settings;
using dh::core::local_admission;

namespace {

// Starts an acquire; `out` is set when it completes.
void start_acquire(asio::io_context& ioc, local_admission& slots, const std::string& user, std::uint64_t session,
                   std::optional<bool>& out) {
  asio::co_spawn(ioc, [&slots, &out, user, session]() -> asio::awaitable<void> {
    out = co_await slots.acquire(user, session);
  }, asio::detached);
}

// Runs what is ready, without waiting for the acquires still waiting.
void settle(asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

}  // namespace

TEST_CASE("local admission holds max_per_user slots per user; other users are apart") {
  asio::io_context ioc;
  local_admission slots(ioc.get_executor(), admission_settings{2, std::chrono::milliseconds(0)});
  std::optional<bool> a, b, c, other;
  start_acquire(ioc, slots, "u", 1, a);
  start_acquire(ioc, slots, "u", 2, b);
  ioc.run();
  start_acquire(ioc, slots, "u", 3, c);
  start_acquire(ioc, slots, "v", 4, other);
  ioc.restart();
  ioc.run();
  CHECK(a == true);
  CHECK(b == true);
  CHECK(c == false);  // no wait configured: refused at once
  CHECK(other == true);
}

TEST_CASE("local admission lets a waiting acquire in when a slot is released") {
  asio::io_context ioc;
  // A wait far longer than the test: only the release can end it.
  local_admission slots(ioc.get_executor(), admission_settings{1, std::chrono::hours(1)});
  std::optional<bool> first, second;
  start_acquire(ioc, slots, "u", 1, first);
  ioc.run();
  REQUIRE(first == true);
  start_acquire(ioc, slots, "u", 2, second);
  settle(ioc);
  CHECK_FALSE(second.has_value());  // waiting
  slots.release("u", 99);           // not a holder: nothing changes
  settle(ioc);
  CHECK_FALSE(second.has_value());
  slots.release("u", 1);
  ioc.restart();
  ioc.run();
  CHECK(second == true);
}

TEST_CASE("local admission refuses once its wait passes without a release") {
  asio::io_context ioc;
  local_admission slots(ioc.get_executor(), admission_settings{1, std::chrono::milliseconds(20)});
  std::optional<bool> first, second;
  start_acquire(ioc, slots, "u", 1, first);
  start_acquire(ioc, slots, "u", 2, second);
  ioc.run();  // returns once the second acquire's wait has ended
  CHECK(first == true);
  CHECK(second == false);
}

}  // namespace core_admission_test
