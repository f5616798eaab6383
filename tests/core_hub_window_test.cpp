// core_hub_window_test.cpp — SPEC §3's batch window, decided by the hub without a network: a user
// with nothing pending gets an update at once; while an earlier frame still waits in the outbox
// (no writer takes it here) later updates are gathered for one window and collapsed.
#include "core/bus.hpp"
#include "core/hub.hpp"
#include "core/local_event_store.hpp"
#include "core/memory_store.hpp"

#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace dh;
using namespace std::chrono_literals;

namespace {

// Runs the loop until `done` holds (5 s at most); the loop is the hub's, the store's and the bus's.
bool run_until(asio::io_context& ioc, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_one_for(10ms);
  }
  return done();
}

std::vector<json::object> drain(core::outbox& out) {
  std::vector<json::object> frames;
  while (auto item = out.try_receive())
    if (item->what == core::outbound::kind::frame) frames.push_back(json::parse(*item->data).as_object());
  return frames;
}

struct hub_fixture {
  asio::io_context ioc;
  core::memory_store memory;
  core::local_bus bus;
  core::local_event_store events{memory, ioc.get_executor(), bus};
  core::clock clock;
  core::logger log{core::log_level::error};
  core::metrics metrics;
  core::hub hub;
  std::shared_ptr<core::outbox> out = std::make_shared<core::outbox>(ioc.get_executor(), 1024);

  explicit hub_fixture(std::chrono::milliseconds window)
      : hub(ioc.get_executor(), settings(window), clock, events, log, metrics) {
    bus.subscribe([this](core::bus::batch b) { hub.publish(std::move(b)); }, {});
    auto joined = asio::co_spawn(ioc, hub.join("1", 1, out), asio::use_future);
    REQUIRE(run_until(ioc, [&] { return joined.wait_for(0s) == std::future_status::ready; }));
    hub.subscribe("1", 1, true, std::nullopt);
    REQUIRE(run_until(ioc, [&] { return out->queued_bytes() > 0; }));  // the first dashboard_update
    drain(*out);
  }
  static core::hub_settings settings(std::chrono::milliseconds window) {
    core::hub_settings s;
    s.batch_window = window;
    return s;
  }
  void apply(protocol::task_event e) {
    std::vector<protocol::task_event> batch{std::move(e)};
    auto done = asio::co_spawn(ioc, events.apply(std::move(batch), clock.wall_now()), asio::use_future);
    REQUIRE(run_until(ioc, [&] { return done.wait_for(0s) == std::future_status::ready; }));
  }
};

std::vector<json::object> task_batches(const std::vector<json::object>& frames) {
  std::vector<json::object> out;
  for (const auto& f : frames)
    if (f.at("type") == "task_batch") out.push_back(f);
  return out;
}

const auto t0 = test::contract_time;

}  // namespace

TEST_CASE("hub window: a user with nothing pending gets the update at once, whatever the window") {
  hub_fixture f(1h);  // held for the window, it would never come
  f.apply(test::created("1", "t1", t0));
  REQUIRE(run_until(f.ioc, [&] { return f.out->queued_bytes() > 0; }));
  const auto batches = task_batches(drain(*f.out));
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].at("payload").at("updates").as_array().size() == 1);
}

TEST_CASE("hub window: while a frame waits to be written, updates are gathered for one window and collapsed") {
  hub_fixture f(1s);
  f.apply(test::created("1", "t3", t0));
  REQUIRE(run_until(f.ioc, [&] { return f.out->queued_bytes() > 0; }));  // left in the outbox: a write pending
  const auto pending = f.out->queued_bytes();

  f.apply(test::updated("1", "t1", t0 + 1s));
  f.apply(test::updated("1", "t1", t0 + 2s).completed());
  f.apply(test::created("1", "t2", t0 + 3s));
  CHECK(f.out->queued_bytes() == pending);  // gathered, not sent one by one

  std::vector<json::object> frames;
  REQUIRE(run_until(f.ioc, [&] {
    auto more = drain(*f.out);
    frames.insert(frames.end(), more.begin(), more.end());
    return task_batches(frames).size() >= 2;
  }));
  const auto batches = task_batches(frames);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].at("payload").at("updates").as_array().size() == 1);
  const auto& gathered = batches[1].at("payload").at("updates").as_array();
  REQUIRE(gathered.size() == 2);  // three updates in one frame, task t1's two collapsed
  CHECK(gathered[0].at("taskId") == json::value("t1"));
  CHECK(gathered[0].at("task").at("status") == json::value(true));
  CHECK(gathered[1].at("taskId") == json::value("t2"));
}

TEST_CASE("hub window: with a zero window every update goes out at once, pending frames or not") {
  hub_fixture f(0ms);
  f.apply(test::created("1", "t1", t0));
  REQUIRE(run_until(f.ioc, [&] { return f.out->queued_bytes() > 0; }));
  const auto first = f.out->queued_bytes();
  f.apply(test::created("1", "t2", t0));
  REQUIRE(run_until(f.ioc, [&] { return f.out->queued_bytes() > first; }));
  CHECK(task_batches(drain(*f.out)).size() == 2);
}
