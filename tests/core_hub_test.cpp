// core_hub_test.cpp — the hub driven without a network or a timer: a manual clock moves time, the
// in-memory store commits, and real outboxes (no writer takes from them) show what each session
// would be sent. Batching and the window (SPEC §3), debounce, replay, the ack window and slow
// consumers, each decided at an exact instant. The connection limit is core/admission's: see
// core_admission_test.cpp.
#include "core/bus.hpp"
#include "core/hub.hpp"
#include "core/local_event_store.hpp"
#include "core/memory_store.hpp"

#include "support/manual_clock.hpp"
#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

namespace core_hub_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
namespace json = boost::json;
using namespace dh;
using namespace std::chrono_literals;

namespace {

const auto t0 = test::contract_time;

std::vector<json::object> drain(core::outbox& out) {
  std::vector<json::object> frames;
  while (auto item = out.try_receive())
    if (item->what == core::outbound::kind::frame) frames.push_back(json::parse(*item->data).as_object());
  return frames;
}

std::vector<json::object> of_type(const std::vector<json::object>& frames, std::string_view type) {
  std::vector<json::object> out;
  for (const auto& f : frames)
    if (f.at("type").as_string() == type) out.push_back(f);
  return out;
}

std::int64_t total_of(const json::object& dashboard) {
  return dashboard.at("payload").at("totalTasks").as_int64();
}

struct hub_fixture {
  asio::io_context ioc;
  core::memory_store memory;
  core::local_bus bus;
  core::local_event_store events{memory, ioc.get_executor(), bus};
  test::manual_clock clock;
  core::logger log{core::log_level::error};
  core::metrics metrics;
  core::hub hub;

  explicit hub_fixture(core::hub_settings settings = {})
      : hub(ioc.get_executor(), settings, clock, events, log, metrics) {
    bus.subscribe([this](core::bus::batch b) { hub.publish(std::move(b)); }, {});
  }
  static core::hub_settings window(std::chrono::milliseconds w) {
    core::hub_settings s;
    s.batch_window = w;
    return s;
  }
  // Runs every handler that is ready, and those they make ready, until none is left. Time stands
  // still meanwhile: only advance() makes a timer due.
  void settle() {
    for (;;) {
      ioc.restart();
      if (ioc.poll() == 0) return;
    }
  }
  void advance(std::chrono::milliseconds by) {
    clock.advance(by);
    settle();
  }
  std::shared_ptr<core::outbox> join(const std::string& user, std::uint64_t session, std::size_t max_frames = 1024) {
    auto out = std::make_shared<core::outbox>(ioc.get_executor(), max_frames);
    auto joined = asio::co_spawn(ioc, hub.join(user, session, out), asio::use_future);
    settle();
    REQUIRE(joined.get() == core::hub::join_result::joined);
    return out;
  }
  // Joined and subscribed, its first dashboard_update taken.
  std::shared_ptr<core::outbox> subscriber(const std::string& user, std::uint64_t session, bool batch,
                                           std::size_t max_frames = 1024) {
    auto out = join(user, session, max_frames);
    hub.subscribe(user, session, batch, std::nullopt);
    settle();
    REQUIRE(of_type(drain(*out), "dashboard_update").size() == 1);
    return out;
  }
  void apply(std::vector<protocol::task_event> batch) {
    auto done = asio::co_spawn(ioc, events.apply(std::move(batch), clock.wall_now()), asio::use_future);
    settle();
    done.get();
  }
  void apply(protocol::task_event e) { apply(std::vector<protocol::task_event>{std::move(e)}); }
};

}  // namespace

TEST_CASE("hub: a user with nothing pending gets the update at once, whatever the window") {
  hub_fixture f(hub_fixture::window(1h));  // held for the window, it would never come
  auto out = f.subscriber("1", 1, true);
  f.apply(test::created("1", "t1", t0));
  const auto batches = of_type(drain(*out), "task_batch");
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].at("payload").at("updates").as_array().size() == 1);
  CHECK(f.clock.armed() == 0);  // no window was opened
}

TEST_CASE("hub: while a frame waits to be written, updates are gathered for exactly one window and collapsed") {
  hub_fixture f(hub_fixture::window(20ms));
  auto out = f.subscriber("1", 1, true);
  f.apply(test::created("1", "t3", t0));
  const auto pending = out->queued_bytes();
  REQUIRE(pending > 0);  // left in the outbox: a write pending

  f.apply(test::updated("1", "t1", t0 + 1s));
  f.apply(test::updated("1", "t1", t0 + 2s).completed());
  f.apply(test::created("1", "t2", t0 + 3s));
  f.advance(19ms);
  CHECK(out->queued_bytes() == pending);  // gathered, not sent one by one, and the window is not over
  f.advance(1ms);

  const auto batches = of_type(drain(*out), "task_batch");
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].at("payload").at("updates").as_array().size() == 1);
  const auto& gathered = batches[1].at("payload").at("updates").as_array();
  REQUIRE(gathered.size() == 2);  // three updates in one frame, task t1's two collapsed
  CHECK(gathered[0].at("taskId") == json::value("t1"));
  CHECK(gathered[0].at("task").at("status") == json::value(true));
  CHECK(gathered[1].at("taskId") == json::value("t2"));
}

TEST_CASE("hub: with a zero window every update goes out at once, pending frames or not") {
  hub_fixture f(hub_fixture::window(0ms));
  auto out = f.subscriber("1", 1, true);
  f.apply(test::created("1", "t1", t0));
  f.apply(test::created("1", "t2", t0));
  CHECK(of_type(drain(*out), "task_batch").size() == 2);
}

TEST_CASE("hub: twenty changes in a second give one dashboard_update at once and one at the second's end") {
  hub_fixture f(hub_fixture::window(0ms));
  auto out = f.subscriber("1", 1, false);
  for (int i = 0; i < 20; ++i) {
    f.apply(test::created("1", "t" + std::to_string(i), t0).completed(i % 4 == 0));
    f.advance(10ms);
  }
  auto frames = drain(*out);
  CHECK(of_type(frames, "task_update").size() == 20);
  auto dashboards = of_type(frames, "dashboard_update");
  REQUIRE(dashboards.size() == 1);  // the leading edge
  CHECK(total_of(dashboards[0]) == 1);

  f.advance(799ms);  // 999 ms after the leading edge
  CHECK(of_type(drain(*out), "dashboard_update").empty());
  f.advance(1ms);
  dashboards = of_type(drain(*out), "dashboard_update");
  REQUIRE(dashboards.size() == 1);  // the trailing edge, with the latest counts
  CHECK(total_of(dashboards[0]) == 20);
  CHECK(dashboards[0].at("payload").at("completedTasks") == json::value(5));

  f.advance(5s);  // nothing changed: nothing resent
  CHECK(drain(*out).empty());
  CHECK(f.clock.armed() == 0);
}

TEST_CASE("hub: a change after a quiet second is sent at once, an unchanged count never") {
  hub_fixture f(hub_fixture::window(0ms));
  auto out = f.subscriber("1", 1, false);
  f.apply(test::created("1", "a", t0));
  REQUIRE(of_type(drain(*out), "dashboard_update").size() == 1);
  f.advance(1s);
  f.apply(test::updated("1", "a", t0 + 1s));  // a title change: the counts stay
  auto frames = drain(*out);
  CHECK(of_type(frames, "task_update").size() == 1);
  CHECK(of_type(frames, "dashboard_update").empty());
  f.apply(test::created("1", "b", t0 + 2s));
  frames = drain(*out);
  REQUIRE(of_type(frames, "dashboard_update").size() == 1);
  CHECK(total_of(of_type(frames, "dashboard_update")[0]) == 2);
}

TEST_CASE("hub: a resume replays what came after lastEventId in order, holds live updates behind it, then stats") {
  hub_fixture f(hub_fixture::window(0ms));
  for (int i = 1; i <= 5; ++i) f.apply(test::created("1", "t" + std::to_string(i), t0));  // ids 1..5, nobody connected
  auto out = f.join("1", 7, 2);  // two frames: the replay is paced and stops until the writer takes some
  f.hub.subscribe("1", 7, false, std::uint64_t{2});
  f.settle();
  auto frames = drain(*out);
  CHECK(frames.size() == 2);  // ids 3 and 4, then the replay waits for room
  f.apply(test::created("1", "live", t0));  // id 6 arrives during the replay
  for (auto more = drain(*out); !more.empty(); more = drain(*out)) {
    frames.insert(frames.end(), more.begin(), more.end());
    f.settle();
  }
  std::vector<std::string> ids;
  for (const auto& m : frames)
    if (m.at("type") == "task_update") ids.emplace_back(m.at("id").as_string());
  CHECK(ids == std::vector<std::string>{"3", "4", "5", "6"});
  REQUIRE(!frames.empty());
  CHECK(frames.back().at("type") == json::value("dashboard_update"));
  CHECK(total_of(frames.back()) == 6);
  CHECK_FALSE(out->has_close_request());
}

TEST_CASE("hub: a session that acks may fall at most ack_window updates behind") {
  core::hub_settings settings = hub_fixture::window(0ms);
  settings.ack_window = 3;
  hub_fixture f(settings);
  auto acker = f.subscriber("1", 1, false);
  auto silent = f.subscriber("1", 2, false);  // never acks: the window does not apply to it
  f.hub.ack("1", 1, 0);
  f.settle();
  for (int i = 0; i < 3; ++i) f.apply(test::created("1", "t" + std::to_string(i), t0));
  CHECK_FALSE(acker->has_close_request());
  f.hub.ack("1", 1, 2);  // two of three acknowledged
  f.settle();
  f.apply(test::created("1", "t3", t0));
  f.apply(test::created("1", "t4", t0));
  CHECK_FALSE(acker->has_close_request());  // three unacknowledged
  f.apply(test::created("1", "t5", t0));
  CHECK(acker->has_close_request());
  CHECK(acker->close_request_reason() == std::pair<std::uint16_t, std::string>{4013, "SLOW_CONSUMER"});
  CHECK_FALSE(silent->has_close_request());
  CHECK(f.metrics.errors[static_cast<std::size_t>(protocol::errc::slow_consumer)].value() == 1);
}

TEST_CASE("hub: a session whose outbox is full is closed as a slow consumer; the others keep receiving") {
  hub_fixture f(hub_fixture::window(0ms));
  auto slow = f.subscriber("1", 1, false, 4);
  auto fast = f.subscriber("1", 2, false, 1024);
  for (int i = 0; i < 8; ++i) f.apply(test::created("1", "t" + std::to_string(i), t0));
  CHECK(slow->has_close_request());
  CHECK(slow->close_request_reason().first == 4013);
  CHECK(of_type(drain(*fast), "task_update").size() == 8);
  CHECK_FALSE(fast->has_close_request());
}

TEST_CASE("hub: a user who leaves leaves no session, user or timer behind") {
  hub_fixture f(hub_fixture::window(20ms));
  auto out = f.subscriber("1", 1, false);
  f.apply(test::created("1", "a", t0));
  f.apply(test::created("1", "b", t0));  // a frame waits: this one opens a window
  f.advance(20ms);                       // its end: the new counts wait for the debouncer's second
  f.apply(test::created("1", "c", t0));  // another window
  CHECK(f.clock.armed() == 2);
  CHECK(f.hub.connection_count() == 1);
  CHECK(f.hub.user_count() == 1);
  const auto queued = out->queued_bytes();
  f.hub.leave("1", 1);
  f.settle();
  CHECK(f.hub.connection_count() == 0);
  CHECK(f.hub.user_count() == 0);
  CHECK(f.clock.armed() == 0);
  f.advance(2s);  // a call dropped with its timer never runs: nothing more reaches the old outbox
  CHECK(out->queued_bytes() == queued);
}

}  // namespace core_hub_test
