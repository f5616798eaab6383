// core_task_model_test.cpp — the store rules of SPEC §3 (audiences, per-user counters and event
// ids, last writer wins, plan/commit) and the in-memory store's bounded history.
#include "core/memory_store.hpp"
#include "core/task_model.hpp"

#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace core_task_model_test {  // unity builds compile several test files as one unit

namespace json = boost::json;
using namespace dh::core;
using dh::protocol::task_action;
using dh::protocol::task_event;
using namespace std::chrono_literals;
using dh::test::created;
using dh::test::deleted;
using dh::test::updated;

namespace {

const wall_time t0 = wall_time{std::chrono::sys_days{std::chrono::year{2026} / 1 / 3}} + 10h;


// Plans and commits one batch, as a store does once it is durable.
apply_result apply(task_model& model, std::vector<task_event> events, wall_time now = t0) {
  auto changes = model.plan(events, now);
  model.commit(changes);
  return std::move(changes.result);
}

const audience_update* seen_by(const applied_event& e, const std::string& user) {
  for (const auto& a : e.audience)
    if (a.user == user) return &a;
  return nullptr;
}

void check_stats(const user_stats& s, std::int64_t total, std::int64_t completed) {
  CHECK(s.total == total);
  CHECK(s.completed == completed);
}

json::object payload_of(const history_entry& h) {
  auto v = json::parse(h.payload);
  REQUIRE(v.is_object());
  return v.as_object();
}

std::vector<std::uint64_t> ids_of(const history_page& page) {
  std::vector<std::uint64_t> ids;
  for (const auto& h : page.entries) ids.push_back(h.event_id);
  return ids;
}

}  // namespace

TEST_CASE("task model: the audience is the owner plus sharedWith") {
  task_model model;
  const auto r = apply(model, {created("alice", "t1", t0).shared({"bob"})});
  REQUIRE(r.events.size() == 1);
  const auto& e = r.events[0];
  CHECK(e.applied);
  CHECK(e.task_key == "t1");
  REQUIRE(e.task_json);
  CHECK(json::parse(*e.task_json).at("id") == json::value("t1"));
  CHECK(e.task_id_json == R"("t1")");
  REQUIRE(e.audience.size() == 2);
  const auto* alice = seen_by(e, "alice");
  const auto* bob = seen_by(e, "bob");
  REQUIRE(alice);
  REQUIRE(bob);
  CHECK(alice->action == task_action::created);
  CHECK(bob->action == task_action::created);
  CHECK(alice->event_id == 1);
  CHECK(bob->event_id == 1);
  CHECK(seen_by(e, "carol") == nullptr);
  check_stats(model.stats("alice"), 1, 0);
  check_stats(model.stats("bob"), 1, 0);
  check_stats(model.stats("carol"), 0, 0);
  CHECK(model.stats("carol").last_event_id == 0);

  SUBCASE("each user's event ids increase on their own") {
    const auto second = apply(model, {created("bob", "t2", t0)});  // only bob sees t2
    REQUIRE(second.events[0].audience.size() == 1);
    CHECK(second.events[0].audience[0].user == "bob");
    CHECK(second.events[0].audience[0].event_id == 2);
    CHECK(model.stats("alice").last_event_id == 1);

    const auto third = apply(model, {updated("alice", "t1", t0 + 1s)});
    REQUIRE(seen_by(third.events[0], "alice"));
    REQUIRE(seen_by(third.events[0], "bob"));
    CHECK(seen_by(third.events[0], "alice")->event_id == 2);
    CHECK(seen_by(third.events[0], "bob")->event_id == 3);
    CHECK(seen_by(third.events[0], "alice")->action == task_action::updated);
    CHECK(model.stats("bob").last_event_id == 3);
  }
  SUBCASE("ids increase within one batch too") {
    const auto r2 = apply(model, {created("alice", "t2", t0), created("alice", "t3", t0), updated("alice", "t2", t0 + 1s)});
    REQUIRE(r2.events.size() == 3);
    CHECK(r2.events[0].audience.at(0).event_id == 2);
    CHECK(r2.events[1].audience.at(0).event_id == 3);
    CHECK(r2.events[2].audience.at(0).event_id == 4);
    CHECK(r2.events[2].audience.at(0).action == task_action::updated);
    REQUIRE(r2.stats.size() == 1);
    CHECK(r2.stats[0].first == "alice");
    CHECK(r2.stats[0].second.last_event_id == 4);
    CHECK(r2.stats[0].second.total == 3);
  }
}

TEST_CASE("task model: statistics arithmetic") {
  task_model model;
  apply(model, {created("u", "a", t0)});
  check_stats(model.stats("u"), 1, 0);
  apply(model, {created("u", "b", t0).completed()});
  check_stats(model.stats("u"), 2, 1);
  apply(model, {updated("u", "a", t0 + 1s).completed()});
  check_stats(model.stats("u"), 2, 2);
  apply(model, {updated("u", "a", t0 + 2s).completed()});  // still completed: no double count
  check_stats(model.stats("u"), 2, 2);
  apply(model, {updated("u", "a", t0 + 3s).completed(false)});
  check_stats(model.stats("u"), 2, 1);
  apply(model, {deleted("u", "b", t0 + 4s)});
  check_stats(model.stats("u"), 1, 0);
  apply(model, {deleted("u", "a", t0 + 5s)});
  check_stats(model.stats("u"), 0, 0);

  SUBCASE("deleting again never makes counts negative") {
    apply(model, {deleted("u", "a", t0 + 6s), deleted("u", "b", t0 + 6s)});
    check_stats(model.stats("u"), 0, 0);
  }
  SUBCASE("a deleted task can be created again") {
    apply(model, {created("u", "a", t0 + 6s).completed()});
    check_stats(model.stats("u"), 1, 1);
  }
  SUBCASE("the stats carry the time of the batch") {
    apply(model, {created("u", "c", t0)}, t0 + 1h);
    CHECK(model.stats("u").updated_at == t0 + 1h);
  }
}

TEST_CASE("task model: an updated event for an unknown task creates it") {
  task_model model;
  const auto r = apply(model, {updated("u", "a", t0).completed()});
  REQUIRE(r.events[0].audience.size() == 1);
  CHECK(r.events[0].audience[0].action == task_action::created);
  check_stats(model.stats("u"), 1, 1);
}

TEST_CASE("task model: last writer wins by updatedAt") {
  task_model model;
  apply(model, {created("u", "a", t0 + 10s).shared({"v"}).title("newest")});
  const auto before_u = model.stats("u");
  const auto before_v = model.stats("v");

  SUBCASE("an older update is ignored") {
    const auto r = apply(model, {updated("u", "a", t0 + 5s).completed().title("stale")});
    REQUIRE(r.events.size() == 1);
    CHECK_FALSE(r.events[0].applied);
    CHECK(r.events[0].task_key == "a");
    CHECK(r.events[0].audience.empty());
    CHECK(r.stats.empty());
    CHECK(model.stats("u").last_event_id == before_u.last_event_id);
    CHECK(model.stats("v").last_event_id == before_v.last_event_id);
    check_stats(model.stats("u"), 1, 0);
    REQUIRE(model.find("a"));
    CHECK(json::parse(*model.find("a")->task_json).at("title") == json::value("newest"));
    CHECK(model.find("a")->updated_at == t0 + 10s);
  }
  SUBCASE("an older delete is ignored") {
    const auto r = apply(model, {deleted("u", "a", t0 + 9s)});
    CHECK_FALSE(r.events[0].applied);
    check_stats(model.stats("u"), 1, 0);
    check_stats(model.stats("v"), 1, 0);
    REQUIRE(model.find("a"));
    CHECK_FALSE(model.find("a")->deleted);
  }
  SUBCASE("an older update cannot change the audience") {
    apply(model, {updated("u", "a", t0 + 9s).shared({"w"})});
    check_stats(model.stats("v"), 1, 0);
    check_stats(model.stats("w"), 0, 0);
  }
  SUBCASE("an update with the same updatedAt is applied") {
    const auto r = apply(model, {updated("u", "a", t0 + 10s).completed()});
    CHECK(r.events[0].applied);
    check_stats(model.stats("u"), 1, 1);
  }
  SUBCASE("a newer update is applied") {
    const auto r = apply(model, {updated("u", "a", t0 + 11s).title("newer")});
    CHECK(r.events[0].applied);
    CHECK(json::parse(*model.find("a")->task_json).at("title") == json::value("newer"));
  }
  SUBCASE("within one batch the older of two updates is ignored") {
    const auto r = apply(model, {updated("u", "a", t0 + 20s).title("late"), updated("u", "a", t0 + 15s).title("early")});
    CHECK(r.events[0].applied);
    CHECK_FALSE(r.events[1].applied);
    CHECK(r.events[1].audience.empty());
    CHECK(json::parse(*model.find("a")->task_json).at("title") == json::value("late"));
    CHECK(model.stats("u").last_event_id == before_u.last_event_id + 1);
  }
  SUBCASE("a deleted task is not revived by an older update") {
    apply(model, {deleted("u", "a", t0 + 30s)});
    check_stats(model.stats("u"), 0, 0);
    const auto ids = model.stats("u").last_event_id;
    const auto r = apply(model, {updated("u", "a", t0 + 20s)});
    CHECK_FALSE(r.events[0].applied);
    check_stats(model.stats("u"), 0, 0);
    CHECK(model.stats("u").last_event_id == ids);
  }
}

TEST_CASE("task model: an update without sharedWith keeps the old audience") {
  task_model model;
  apply(model, {created("u", "a", t0).shared({"v", "w"})});
  const auto r = apply(model, {updated("u", "a", t0 + 1s).completed()});
  REQUIRE(r.events[0].audience.size() == 3);
  for (const auto& user : {"u", "v", "w"}) {
    CAPTURE(user);
    const auto* seen = seen_by(r.events[0], user);
    REQUIRE(seen);
    CHECK(seen->action == task_action::updated);
    check_stats(model.stats(user), 1, 1);
  }
  CHECK(model.find("a")->audience == std::vector<std::string>{"u", "v", "w"});
}

TEST_CASE("task model: changing sharedWith") {
  task_model model;
  apply(model, {created("u", "a", t0).shared({"v"}).completed()});
  check_stats(model.stats("v"), 1, 1);
  const auto v_ids = model.stats("v").last_event_id;

  const auto r = apply(model, {updated("u", "a", t0 + 1s).shared({"w"}).completed()});
  const auto& e = r.events[0];
  SUBCASE("a removed user sees a deleted view and loses the task from the stats") {
    const auto* v = seen_by(e, "v");
    REQUIRE(v);
    CHECK(v->action == task_action::deleted);
    CHECK(v->event_id == v_ids + 1);
    check_stats(model.stats("v"), 0, 0);
  }
  SUBCASE("an added user sees a created view") {
    const auto* w = seen_by(e, "w");
    REQUIRE(w);
    CHECK(w->action == task_action::created);
    check_stats(model.stats("w"), 1, 1);
  }
  SUBCASE("the owner sees an update") {
    const auto* u = seen_by(e, "u");
    REQUIRE(u);
    CHECK(u->action == task_action::updated);
    check_stats(model.stats("u"), 1, 1);
  }
  SUBCASE("an empty sharedWith leaves only the owner") {
    const auto r2 = apply(model, {updated("u", "a", t0 + 2s).shared({})});
    REQUIRE(seen_by(r2.events[0], "w"));
    CHECK(seen_by(r2.events[0], "w")->action == task_action::deleted);
    check_stats(model.stats("w"), 0, 0);
    CHECK(model.find("a")->audience == std::vector<std::string>{"u"});
  }
}

TEST_CASE("task model: deleting a visible task reaches its whole audience") {
  task_model model;
  apply(model, {created("u", "a", t0).shared({"v"})});
  const auto r = apply(model, {deleted("u", "a", t0 + 1s)});
  REQUIRE(r.events[0].audience.size() == 2);
  CHECK(seen_by(r.events[0], "u")->action == task_action::deleted);
  CHECK(seen_by(r.events[0], "v")->action == task_action::deleted);
  check_stats(model.stats("v"), 0, 0);
  REQUIRE(model.find("a"));
  CHECK(model.find("a")->deleted);
  CHECK(model.find("a")->audience.empty());
}

TEST_CASE("task model: deleting an unknown task") {
  task_model model;
  const auto r = apply(model, {deleted("u", "ghost", t0)});
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].applied);
  // The producer may know the task from before this gateway did: its owner hears of the delete.
  REQUIRE(r.events[0].audience.size() == 1);
  CHECK(r.events[0].audience[0].user == "u");
  CHECK(r.events[0].audience[0].action == task_action::deleted);
  check_stats(model.stats("u"), 0, 0);

  SUBCASE("it stays a tombstone that an older create cannot revive") {
    const auto late = apply(model, {created("u", "ghost", t0 - 1s)});
    CHECK_FALSE(late.events[0].applied);
    check_stats(model.stats("u"), 0, 0);
  }
}

TEST_CASE("task model: plan() changes nothing until commit()") {
  task_model model;
  apply(model, {created("u", "a", t0)});
  const std::vector<task_event> batch = {updated("u", "a", t0 + 1s).completed(), created("u", "b", t0)};
  auto changes = model.plan(batch, t0 + 1s);
  CHECK(changes.result.events.size() == 2);
  CHECK(changes.history.size() == 2);
  CHECK(changes.tasks.size() == 2);
  REQUIRE(changes.users.size() == 1);
  check_stats(changes.users[0].second, 2, 1);

  check_stats(model.stats("u"), 1, 0);
  CHECK(model.stats("u").last_event_id == 1);
  CHECK(model.find("b") == nullptr);
  CHECK_FALSE(model.find("a")->completed);
  CHECK(model.task_count() == 1);

  SUBCASE("planning again yields the same event ids") {
    const auto again = model.plan(batch, t0 + 1s);
    CHECK(again.result.events[0].audience.at(0).event_id == 2);
    CHECK(again.result.events[1].audience.at(0).event_id == 3);
  }
  SUBCASE("commit applies the plan") {
    model.commit(changes);
    check_stats(model.stats("u"), 2, 1);
    CHECK(model.stats("u").last_event_id == 3);
    CHECK(model.task_count() == 2);
    REQUIRE(model.find("b"));
    CHECK(model.find("a")->completed);
  }
}

TEST_CASE("task model: history rows carry each user's own view") {
  task_model model;
  apply(model, {created("u", "a", t0).shared({"v"})});
  auto changes = model.plan({updated("u", "a", t0 + 1s).shared({})}, t0 + 2s);
  REQUIRE(changes.history.size() == 2);
  for (const auto& row : changes.history) {
    CAPTURE(row.user);
    CHECK(row.at == t0 + 2s);
    CHECK(row.event_id == 2);
    const auto payload = json::parse(row.payload).as_object();
    CHECK(payload.at("taskId") == json::value("a"));
    CHECK(payload.at("action") == json::value(row.user == "u" ? "updated" : "deleted"));
    CHECK(payload.at("task").at("id") == json::value("a"));
  }
}

TEST_CASE("memory store: history after an id") {
  memory_store store;
  store.apply({created("u", "a", t0).title("one")}, t0);
  store.apply({updated("u", "a", t0 + 1s).title("two")}, t0 + 1s);
  store.apply({created("u", "b", t0 + 2s)}, t0 + 2s);

  const auto all = store.history("u", 0, 100, t0 + 3s);
  CHECK(all.complete);
  CHECK(all.last_event_id == 3);
  CHECK(ids_of(all) == std::vector<std::uint64_t>{1, 2, 3});
  const auto second = payload_of(all.entries[1]);
  CHECK(second.at("action") == json::value("updated"));
  CHECK(second.at("task").at("title") == json::value("two"));

  CHECK(ids_of(store.history("u", 1, 100, t0 + 3s)) == std::vector<std::uint64_t>{2, 3});
  SUBCASE("a limit") {
    const auto page = store.history("u", 0, 2, t0 + 3s);
    CHECK(ids_of(page) == std::vector<std::uint64_t>{1, 2});
    CHECK(page.last_event_id == 3);
  }
  SUBCASE("nothing after the newest id") {
    const auto page = store.history("u", 3, 100, t0 + 3s);
    CHECK(page.entries.empty());
    CHECK(page.complete);
  }
  SUBCASE("an unknown user") {
    const auto page = store.history("nobody", 0, 100, t0 + 3s);
    CHECK(page.entries.empty());
    CHECK(page.complete);
    CHECK(page.last_event_id == 0);
  }
  SUBCASE("stats go through the model") {
    const auto s = store.stats("u");
    check_stats(s, 2, 0);
    CHECK(s.last_event_id == 3);
  }
}

TEST_CASE("memory store: history trimmed by max_events is not complete") {
  history_settings settings;
  settings.max_events = 3;
  memory_store store(settings);
  for (int i = 0; i < 5; ++i) store.apply({updated("u", "a", t0 + i * 1s)}, t0 + i * 1s);

  const auto from_start = store.history("u", 0, 100, t0 + 10s);
  CHECK(ids_of(from_start) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK_FALSE(from_start.complete);
  CHECK(from_start.last_event_id == 5);
  CHECK_FALSE(store.history("u", 1, 100, t0 + 10s).complete);
  const auto covered = store.history("u", 2, 100, t0 + 10s);
  CHECK(covered.complete);
  CHECK(ids_of(covered) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(store.history("u", 4, 100, t0 + 10s).complete);
}

TEST_CASE("memory store: history older than max_age is dropped and not complete") {
  history_settings settings;
  settings.max_age = 1h;
  memory_store store(settings);
  store.apply({created("u", "a", t0)}, t0);
  store.apply({updated("u", "a", t0 + 1s)}, t0 + 1s);
  store.apply({updated("u", "a", t0 + 2h)}, t0 + 2h);

  SUBCASE("read within the age keeps everything") {
    const auto page = store.history("u", 0, 100, t0 + 30min);
    CHECK(page.complete);
    CHECK(ids_of(page) == std::vector<std::uint64_t>{1, 2, 3});
  }
  SUBCASE("read later drops the old entries") {
    const auto page = store.history("u", 0, 100, t0 + 2h);
    CHECK_FALSE(page.complete);
    CHECK(ids_of(page) == std::vector<std::uint64_t>{3});
    CHECK(store.history("u", 2, 100, t0 + 2h).complete);
  }
  SUBCASE("read far in the future: nothing left, gap not covered") {
    const auto page = store.history("u", 0, 100, t0 + 24h * 365);
    CHECK(page.entries.empty());
    CHECK_FALSE(page.complete);
    CHECK(page.last_event_id == 3);
    CHECK(store.history("u", 3, 100, t0 + 24h * 365).complete);  // nothing was missed
  }
}

TEST_CASE("memory store: a resume id beyond the user's newest event is not a covered gap") {
  // A client that holds id 42 while this store's newest is 2 resumes against a history that was
  // lost (a memory store after a restart, a wiped data dir): it must refetch (SPEC §1 recovered).
  memory_store store;
  store.apply({created("u", "a", t0), created("u", "b", t0)}, t0);
  const auto page = store.history("u", 42, 100, t0);
  CHECK(page.entries.empty());
  CHECK(page.last_event_id == 2);
  CHECK_FALSE(page.complete);
}

TEST_CASE("history_covers") {
  CHECK(history_covers(5, 0, 5));   // nothing after 5
  CHECK(history_covers(0, 1, 3));   // everything held
  CHECK(history_covers(2, 3, 9));   // oldest is the next id
  CHECK_FALSE(history_covers(1, 3, 9));
  CHECK_FALSE(history_covers(0, 0, 3));  // history empty but events happened
}

}  // namespace core_task_model_test
