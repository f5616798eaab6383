// store_task_rules_test.cpp — one table of task-rule cases (LWW ties, audience changes,
// deleted-then-created, statistics) run against the in-process model (memory store) and the Redis
// apply script on a real redis-server: both must give the same ids, views, statistics and history.
#include "app/gateway.hpp"
#include "core/memory_store.hpp"
#include "store/redis_backend.hpp"
#include "support/redis_server.hpp"
#include "support/task_events.hpp"
#include "support/test_server.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include <chrono>
#include <future>
#include <set>
#include <string>
#include <vector>

namespace store_task_rules_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
using namespace dh;
using namespace std::chrono_literals;
using dh::test::created;
using dh::test::deleted;
using dh::test::updated;

namespace {

const core::wall_time t0 = core::wall_time{std::chrono::sys_days{std::chrono::year{2026} / 1 / 3}} + 10h;

struct rule_case {
  const char* name;
  std::vector<std::vector<protocol::task_event>> batches;
};

// Everything a backend's answers say, in one comparable text.
std::string transcript(core::event_store& events, asio::thread_pool& pool, const rule_case& c) {
  std::string out;
  std::set<std::string> users;
  auto now = t0;
  // Redis's ids are above its epoch's base (redis_schema.hpp); the rules are the same above it.
  const auto base = events.report().epoch_base;
  for (const auto& batch : c.batches) {
    now += 1s;
    auto result = asio::co_spawn(pool, events.apply(batch, now), asio::use_future).get();
    for (const auto& e : result->events) {
      // The tasks themselves are compared in the history below (apply's result may omit them).
      out += fmt::format("event {} applied={}", e.task_key, e.applied);
      for (const auto& seen : e.audience) {
        out += fmt::format(" [{} #{} {}]", seen.user, seen.event_id - base, protocol::to_string(seen.action));
        users.insert(seen.user);
      }
      out += '\n';
    }
    // Statistics as every user seen so far reads them after this batch.
    for (const auto& user : users) {
      const auto s = asio::co_spawn(pool, events.stats(user), asio::use_future).get();
      out += fmt::format("stats {} total={} completed={} last={} at={}\n", user, s.total, s.completed, s.last_event_id - base,
                         (s.updated_at - t0) / 1ms);
    }
  }
  for (const auto& user : users) {
    const auto page = asio::co_spawn(pool, events.history(user, 0, 1000, now), asio::use_future).get();
    out += fmt::format("history {} complete={} last={}\n", user, page.complete, page.last_event_id - base);
    for (const auto& h : page.entries) out += fmt::format("  #{} {}\n", h.event_id - base, h.payload);
  }
  return out;
}

std::vector<rule_case> cases() {
  return {
      {"created with sharedWith reaches owner and shared users",
       {{created("1", "t1", t0).shared({"2", "3"})}}},
      {"an older update loses, an equal updatedAt wins (last writer wins)",
       {{created("1", "t1", t0 + 10s)},
        {updated("1", "t1", t0 + 5s).title("older")},
        {updated("1", "t1", t0 + 10s).title("tie")}}},
      {"an update without sharedWith keeps the audience",
       {{created("1", "t1", t0).shared({"2"})}, {updated("1", "t1", t0 + 1s).completed()}}},
      {"changing sharedWith: removed users see deleted, added users created",
       {{created("1", "t1", t0).shared({"2", "3"})}, {updated("1", "t1", t0 + 1s).shared({"3", "4"})}}},
      {"a deleted task stays deleted for older updates; a newer create revives it",
       {{created("1", "t1", t0).shared({"2"}).completed()},
        {deleted("1", "t1", t0 + 5s)},
        {updated("1", "t1", t0 + 2s)},
        {created("1", "t1", t0 + 6s)}}},
      {"deleting an unknown task reaches owner and sharedWith",
       {{deleted("1", "ghost", t0).shared({"2"})}}},
      {"completed toggles statistics for every viewer",
       {{created("1", "t1", t0).shared({"2"}), created("1", "t2", t0).completed()},
        {updated("1", "t1", t0 + 1s).completed()},
        {updated("1", "t2", t0 + 1s).completed(false)}}},
      {"one task twice in one batch, and deleted then created in one batch",
       {{created("1", "t1", t0), updated("1", "t1", t0 + 1s).shared({"2"}), updated("1", "t1", t0 + 500ms)},
        {deleted("1", "t1", t0 + 2s), created("1", "t1", t0 + 3s).shared({"3"})}}},
      {"a new owner: the old owner stops seeing the task",
       {{created("1", "t1", t0).shared({"2"})}, {updated("5", "t1", t0 + 1s)}}},
  };
}

}  // namespace

TEST_CASE("task rules: the Redis apply script and the in-process model agree on every case") {
  auto& redis = test::shared_redis();
  asio::thread_pool pool(1);
  for (const auto& c : cases()) {
    const std::string name = c.name;
    CAPTURE(name);
    core::memory_store memory;
    app::local_backend local(memory, pool.get_executor(), pool.get_executor(), {});
    const auto expected = transcript(local.parts().events, pool, c);

    core::logger quiet(core::log_level::error);
    store::redis_backend remote(test::redis_test_settings(redis.url(), test::fresh_prefix()), {}, quiet);
    remote.bus().subscribe([](core::bus::batch) {}, {});
    remote.start_bus();
    REQUIRE(test::wait_until_available(remote.events()));
    const auto actual = transcript(remote.events(), pool, c);

    CHECK(actual == expected);
    CHECK(expected.find("applied=true") != std::string::npos);  // the case exercised something
    remote.stop();
  }
}

}  // namespace store_task_rules_test
