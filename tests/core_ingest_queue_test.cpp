// core_ingest_queue_test.cpp — group commit: batches that wait while the store is busy go into
// one transaction, each request gets its own events back, the fan-out hears of each commit
// once, and a failed transaction fails every batch in it. The store thread is held by a gate,
// not by sleeping.
#include "core/ingest_queue.hpp"
#include "core/memory_store.hpp"

#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

namespace core_ingest_queue_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
using namespace dh::core;
using dh::protocol::task_event;
using dh::test::created;

namespace {

// The real in-memory store, counting transactions and able to fail the next one.
class counting_store final : public store {
 public:
  apply_result apply(const std::vector<task_event>& events, wall_time now) override {
    ++transactions;
    events_per_transaction.push_back(events.size());
    if (fail_next) throw store_error("disk full");
    return inner.apply(events, now);
  }
  user_stats stats(const std::string& user) override { return inner.stats(user); }
  history_page history(const std::string& user, std::uint64_t after, std::size_t limit, wall_time now) override {
    return inner.history(user, after, limit, now);
  }

  memory_store inner;
  int transactions = 0;
  std::vector<std::size_t> events_per_transaction;
  bool fail_next = false;
};

struct fixture {
  counting_store db;
  asio::thread_pool store_thread{1};
  std::vector<std::shared_ptr<const apply_result>> published;
  ingest_queue queue{db, store_thread.get_executor(),
                     [this](std::shared_ptr<const apply_result> r) { published.push_back(std::move(r)); }};

  // Holds the store thread until the returned promise is set, so requests queue up behind it.
  std::promise<void> hold_store() {
    std::promise<void> gate;
    asio::post(store_thread, [opened = gate.get_future().share()] { opened.wait(); });
    return gate;
  }
};

struct outcome {
  std::shared_ptr<const apply_result> result;
  std::string error;
};

// Starts one request per batch on `ioc`; each records its outcome.
void submit(asio::io_context& ioc, ingest_queue& queue, std::vector<std::vector<task_event>> batches,
            std::vector<outcome>& outcomes, int& finished) {
  outcomes.resize(batches.size());
  for (std::size_t i = 0; i < batches.size(); ++i) {
    asio::co_spawn(
        ioc,
        [](ingest_queue& q, std::vector<task_event> events, outcome& out, int& done) -> asio::awaitable<void> {
          try {
            out.result = co_await q.apply(std::move(events), dh::test::contract_time);
          } catch (const store_error& e) {
            out.error = e.what();
          }
          ++done;
        }(queue, std::move(batches[i]), outcomes[i], finished),
        asio::detached);
  }
}

// Bounded: a request that never completes fails the test instead of hanging it.
void run_until(asio::io_context& ioc, const int& finished, int expected) {
  ioc.restart();  // an earlier poll() that ran out of work left the context stopped
  auto guard = asio::make_work_guard(ioc);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (finished < expected && std::chrono::steady_clock::now() < deadline)
    ioc.run_one_for(std::chrono::milliseconds(100));
  REQUIRE(finished == expected);
}

}  // namespace

TEST_CASE("batches waiting for a busy store are committed in one transaction") {
  // The loop outlives the fixture, whose store thread may still be posting to it as it ends.
  asio::io_context ioc;
  fixture f;
  auto gate = f.hold_store();
  std::vector<outcome> outcomes;
  int finished = 0;
  submit(ioc, f.queue,
         {{created("alice", "a1", dh::test::contract_time), created("alice", "a2", dh::test::contract_time)},
          {created("bob", "b1", dh::test::contract_time)},
          {created("alice", "a3", dh::test::contract_time)}},
         outcomes, finished);
  ioc.poll();  // every request is now queued behind the held store thread
  gate.set_value();
  run_until(ioc, finished, 3);

  CHECK(f.db.transactions == 1);
  CHECK(f.db.events_per_transaction == std::vector<std::size_t>{4});
  REQUIRE(f.published.size() == 1);  // the fan-out hears of the commit once
  CHECK(f.published[0]->events.size() == 4);

  // Each request gets its own events, in its order, with event ids in submission order.
  REQUIRE(outcomes[0].result);
  REQUIRE(outcomes[0].result->events.size() == 2);
  CHECK(outcomes[0].result->events[0].task_key == "a1");
  CHECK(outcomes[0].result->events[1].task_key == "a2");
  CHECK(outcomes[0].result->events[1].audience.at(0).event_id == 2);
  REQUIRE(outcomes[1].result->events.size() == 1);
  CHECK(outcomes[1].result->events[0].audience.at(0).user == "bob");
  REQUIRE(outcomes[2].result->events.size() == 1);
  CHECK(outcomes[2].result->events[0].audience.at(0).event_id == 3);
  CHECK(f.db.stats("alice").total == 3);
}

TEST_CASE("a request arriving while a group commits goes into the next transaction") {
  // The loop outlives the fixture, whose store thread may still be posting to it as it ends.
  asio::io_context ioc;
  fixture f;
  std::vector<outcome> first, second;
  int finished = 0;
  submit(ioc, f.queue, {{created("alice", "a1", dh::test::contract_time)}}, first, finished);
  run_until(ioc, finished, 1);
  submit(ioc, f.queue, {{created("alice", "a2", dh::test::contract_time)}}, second, finished);
  run_until(ioc, finished, 2);
  CHECK(f.db.transactions == 2);
  CHECK(f.published.size() == 2);
  CHECK(second[0].result->events[0].audience.at(0).event_id == 2);
}

TEST_CASE("a failed transaction fails every batch in it and publishes nothing") {
  // The loop outlives the fixture, whose store thread may still be posting to it as it ends.
  asio::io_context ioc;
  fixture f;
  auto gate = f.hold_store();
  f.db.fail_next = true;
  std::vector<outcome> outcomes;
  int finished = 0;
  submit(ioc, f.queue,
         {{created("alice", "a1", dh::test::contract_time)}, {created("bob", "b1", dh::test::contract_time)}},
         outcomes, finished);
  ioc.poll();
  gate.set_value();
  run_until(ioc, finished, 2);
  CHECK(f.db.transactions == 1);
  CHECK(outcomes[0].error == "disk full");
  CHECK(outcomes[1].error == "disk full");
  CHECK(f.published.empty());
  CHECK(f.db.stats("alice").total == 0);

  // The queue keeps working after a failure.
  f.db.fail_next = false;
  std::vector<outcome> retry;
  submit(ioc, f.queue, {{created("alice", "a1", dh::test::contract_time)}}, retry, finished);
  run_until(ioc, finished, 3);
  REQUIRE(retry[0].result);
  CHECK(f.db.stats("alice").total == 1);
}

}  // namespace core_ingest_queue_test
