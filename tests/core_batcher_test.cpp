// core_batcher_test.cpp — the per-user batch window of SPEC §3: several updates of one task
// collapse to the latest, take() yields increasing event ids, and add() reports a new window.
#include "core/batcher.hpp"
#include "protocol/messages.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core_batcher_test {  // unity builds compile several test files as one unit

namespace json = boost::json;
using dh::core::batcher;
using dh::core::collapse;
using dh::core::task_update;
using dh::protocol::task_action;

namespace {

task_update update(std::string key, task_action action, std::uint64_t event_id, std::string title = "") {
  task_update u;
  u.task_key = key;
  u.action = action;
  u.event_id = event_id;
  u.task_id_json = json::serialize(json::value(key));
  u.task_json = std::make_shared<const std::string>(json::serialize(json::object{{"id", key}, {"title", title}}));
  return u;
}

std::string title_of(const task_update& u) {
  REQUIRE(u.task_json);
  return std::string(json::parse(*u.task_json).at("title").as_string());
}

}  // namespace

TEST_CASE("collapse rules") {
  using a = task_action;
  CHECK(collapse(a::created, a::updated) == a::created);
  CHECK(collapse(a::created, a::deleted) == std::nullopt);
  CHECK(collapse(a::updated, a::updated) == a::updated);
  CHECK(collapse(a::updated, a::deleted) == a::deleted);
  CHECK(collapse(a::deleted, a::created) == a::updated);
  CHECK(collapse(a::deleted, a::updated) == a::updated);
  CHECK(collapse(a::deleted, a::deleted) == a::deleted);
}

TEST_CASE("batcher collapses several updates of one task") {
  batcher b;
  SUBCASE("created then updated: one created with the latest task and event id") {
    b.add(update("t1", task_action::created, 1, "first"));
    b.add(update("t1", task_action::updated, 2, "second"));
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].action == task_action::created);
    CHECK(out[0].event_id == 2);
    CHECK(title_of(out[0]) == "second");
  }
  SUBCASE("created, updated, updated: still one created with the latest") {
    b.add(update("t1", task_action::created, 1, "a"));
    b.add(update("t1", task_action::updated, 2, "b"));
    b.add(update("t1", task_action::updated, 3, "c"));
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].action == task_action::created);
    CHECK(out[0].event_id == 3);
    CHECK(title_of(out[0]) == "c");
  }
  SUBCASE("updated then deleted: deleted") {
    b.add(update("t1", task_action::updated, 4, "a"));
    b.add(update("t1", task_action::deleted, 5, "b"));
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].action == task_action::deleted);
    CHECK(out[0].event_id == 5);
  }
  SUBCASE("created then deleted: nothing") {
    b.add(update("t1", task_action::created, 1));
    b.add(update("t1", task_action::deleted, 2));
    CHECK(b.empty());
    CHECK(b.take().empty());
  }
  SUBCASE("created, deleted, created: a new created") {
    b.add(update("t1", task_action::created, 1, "old"));
    b.add(update("t1", task_action::deleted, 2));
    b.add(update("t1", task_action::created, 3, "new"));
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].action == task_action::created);
    CHECK(out[0].event_id == 3);
    CHECK(title_of(out[0]) == "new");
  }
  SUBCASE("updated then updated: the latest") {
    b.add(update("t1", task_action::updated, 7, "a"));
    b.add(update("t1", task_action::updated, 8, "b"));
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].action == task_action::updated);
    CHECK(out[0].event_id == 8);
    CHECK(title_of(out[0]) == "b");
  }
  SUBCASE("deleted then created: updated (the client still has it)") {
    b.add(update("t1", task_action::deleted, 3));
    b.add(update("t1", task_action::created, 4, "back"));
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].action == task_action::updated);
    CHECK(out[0].event_id == 4);
    CHECK(title_of(out[0]) == "back");
  }
  SUBCASE("updated, deleted, created: updated") {
    b.add(update("t1", task_action::updated, 1));
    b.add(update("t1", task_action::deleted, 2));
    b.add(update("t1", task_action::created, 3, "again"));
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].action == task_action::updated);
    CHECK(out[0].event_id == 3);
  }
}

TEST_CASE("batcher keeps different tasks separate") {
  batcher b;
  b.add(update("t1", task_action::created, 1, "one"));
  b.add(update("t2", task_action::updated, 2, "two"));
  b.add(update("t3", task_action::deleted, 3));
  CHECK_FALSE(b.empty());
  const auto out = b.take();
  REQUIRE(out.size() == 3);
  CHECK(out[0].task_key == "t1");
  CHECK(out[0].action == task_action::created);
  CHECK(out[1].task_key == "t2");
  CHECK(out[1].action == task_action::updated);
  CHECK(out[2].task_key == "t3");
  CHECK(out[2].action == task_action::deleted);
}

TEST_CASE("batcher take() returns increasing event ids and empties the window") {
  batcher b;
  b.add(update("a", task_action::updated, 1));
  b.add(update("b", task_action::updated, 2));
  b.add(update("c", task_action::created, 3));
  b.add(update("a", task_action::updated, 4));  // collapses forward past b and c
  b.add(update("c", task_action::deleted, 5));  // cancels c
  b.add(update("d", task_action::updated, 6));
  const auto out = b.take();
  REQUIRE(out.size() == 3);
  std::vector<std::uint64_t> ids;
  for (const auto& u : out) ids.push_back(u.event_id);
  CHECK(ids == std::vector<std::uint64_t>{2, 4, 6});
  CHECK(out[0].task_key == "b");
  CHECK(out[1].task_key == "a");
  CHECK(out[2].task_key == "d");

  CHECK(b.empty());
  CHECK(b.take().empty());

  SUBCASE("a task seen in the last window starts afresh in the next") {
    b.add(update("a", task_action::deleted, 7));
    const auto next = b.take();
    REQUIRE(next.size() == 1);
    CHECK(next[0].action == task_action::deleted);
    CHECK(next[0].event_id == 7);
  }
}

TEST_CASE("batcher add() reports only the first add of a window") {
  batcher b;
  CHECK(b.empty());
  CHECK(b.add(update("a", task_action::updated, 1)));
  CHECK_FALSE(b.add(update("b", task_action::updated, 2)));
  CHECK_FALSE(b.add(update("a", task_action::updated, 3)));
  REQUIRE(b.take().size() == 2);
  CHECK(b.add(update("a", task_action::updated, 4)));
  CHECK_FALSE(b.add(update("c", task_action::created, 5)));

  SUBCASE("a window whose updates cancelled out stays open until take()") {
    b.take();
    CHECK(b.add(update("x", task_action::created, 6)));
    CHECK_FALSE(b.add(update("x", task_action::deleted, 7)));
    CHECK(b.empty());
    CHECK_FALSE(b.add(update("y", task_action::updated, 8)));  // the armed timer will flush it
    const auto out = b.take();
    REQUIRE(out.size() == 1);
    CHECK(out[0].task_key == "y");
    CHECK(b.add(update("z", task_action::updated, 9)));
  }
  SUBCASE("take() of a cancelled-out window closes it") {
    b.take();
    CHECK(b.add(update("x", task_action::created, 6)));
    CHECK_FALSE(b.add(update("x", task_action::deleted, 7)));
    CHECK(b.take().empty());
    CHECK(b.add(update("x", task_action::created, 8)));
  }
}

TEST_CASE("a taken window encodes as a task_batch with increasing ids") {
  batcher b;
  b.add(update("a", task_action::created, 10, "x"));
  b.add(update("b", task_action::updated, 11, "y"));
  b.add(update("a", task_action::updated, 12, "z"));
  const auto out = b.take();
  std::vector<std::string> payloads;
  for (const auto& u : out)
    payloads.push_back(dh::protocol::encode_task_update_payload(u.action, u.task_id_json, *u.task_json));
  std::vector<std::pair<std::string_view, std::uint64_t>> items;
  for (std::size_t i = 0; i < out.size(); ++i) items.emplace_back(payloads[i], out[i].event_id);
  const auto text = dh::protocol::encode_task_batch(items, std::chrono::system_clock::time_point{});
  const auto doc = json::parse(text);
  const auto& updates = doc.at("payload").at("updates").as_array();
  REQUIRE(updates.size() == 2);
  CHECK(updates[0].at("id") == json::value("11"));
  CHECK(updates[0].at("taskId") == json::value("b"));
  CHECK(updates[1].at("id") == json::value("12"));
  CHECK(updates[1].at("action") == json::value("created"));
  CHECK(updates[1].at("task").at("title") == json::value("z"));
}

}  // namespace core_batcher_test
