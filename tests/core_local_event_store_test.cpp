// core_local_event_store_test.cpp — the in-process event store keeps the ordering contract of
// core/event_store.hpp: a batch is on the bus before its apply() completes, and stats and history
// read after it see it. The store runs on its own thread, as in the binary.
#include "core/bus.hpp"
#include "core/local_event_store.hpp"
#include "core/memory_store.hpp"

#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <vector>

namespace core_local_event_store_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
using namespace dh::core;
using dh::test::created;

namespace {

struct observed {
  int published_when_applied = -1;
  std::size_t own_events = 0;
  user_stats stats_after;
  history_page history_after;
};

// A coroutine function, not a capturing lambda: GCC 12 mishandles those.
asio::awaitable<void> apply_then_read(local_event_store& events, const std::atomic<int>& published, observed& out) {
  const auto t = dh::test::contract_time;
  std::vector<dh::protocol::task_event> batch;  // built before the co_await: GCC 12 and init lists
  batch.push_back(created("u", "a", t).shared({"v"}));
  batch.push_back(created("u", "b", t));
  auto mine = co_await events.apply(std::move(batch), t);
  out.published_when_applied = published.load();
  out.own_events = mine->events.size();
  out.stats_after = co_await events.stats("u");
  out.history_after = co_await events.history("v", 0, 100, t);
}

}  // namespace

TEST_CASE("local event store: durable, then on the bus, then apply() completes; reads see it") {
  memory_store backend;
  asio::thread_pool store_thread(1);
  local_bus bus;
  std::atomic<int> published{0};
  bus.subscribe([&](bus::batch) { ++published; }, {});
  local_event_store events(backend, store_thread.get_executor(), bus);

  asio::io_context ioc;
  observed seen;
  asio::co_spawn(ioc, apply_then_read(events, published, seen), asio::detached);
  ioc.run();
  store_thread.join();
  CHECK(seen.published_when_applied == 1);  // one transaction, published before the reply
  CHECK(seen.own_events == 2);
  CHECK(seen.stats_after.total == 2);
  CHECK(seen.stats_after.last_event_id == 2);
  REQUIRE(seen.history_after.entries.size() == 1);
  CHECK(seen.history_after.entries[0].event_id == 1);
}

}  // namespace core_local_event_store_test
