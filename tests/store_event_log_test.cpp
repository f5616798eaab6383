// store_event_log_test.cpp — the embedded store's durable record: log records survive a reopen
// byte for byte, a torn or corrupt tail ends replay, segments roll and are dropped only when
// wholly behind; the group codec round-trips every field; the key filter never forgets a key.
#include "store/event_log.hpp"
#include "store/key_filter.hpp"
#include "store/log_codec.hpp"

#include "core/store.hpp"
#include "support/task_events.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace store_event_log_test {  // unity builds compile several test files as one unit

namespace fs = std::filesystem;
using dh::store::event_log;
using namespace std::chrono_literals;

namespace {

struct temp_dir : dh::test::temp_dir {
  temp_dir() : dh::test::temp_dir("dh-event-log-test-") {}
};

std::vector<std::string> replayed(const fs::path& dir) {
  std::vector<std::string> out;
  event_log(dir).replay([&](std::string_view body) { out.emplace_back(body); });
  return out;
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("event log: appended records come back in order after a reopen") {
  temp_dir dir;
  {
    event_log log(dir.path);
    log.start(1);
    log.append(1, "first");
    log.append(2, std::string(100'000, 'x'));
    log.append(3, "");
  }
  CHECK(replayed(dir.path) == std::vector<std::string>{"first", std::string(100'000, 'x'), ""});
}

namespace {
void check_damaged_tail(bool cut) {
  temp_dir dir;
  {
    event_log log(dir.path);
    log.start(1);
    log.append(1, "kept");
    log.append(2, "torn away");
  }
  const auto file = segments(dir.path).at(0);
  if (cut) {
    fs::resize_file(file, fs::file_size(file) - 3);  // a crash inside the last write
  } else {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-2, std::ios::end);
    f.put('#');  // one flipped byte in the last record's body
  }
  CHECK(replayed(dir.path) == std::vector<std::string>{"kept"});

  // A restart appends after what it replayed, in a fresh segment, and both segments replay.
  {
    event_log log(dir.path);
    log.start(2);
    log.append(2, "again");
    log.append(3, "more");
  }
  CHECK(replayed(dir.path) == std::vector<std::string>{"kept", "again", "more"});
}
}  // namespace

TEST_CASE("event log: a torn last record ends the replay of its segment") { check_damaged_tail(true); }
TEST_CASE("event log: a corrupt last record ends the replay of its segment") { check_damaged_tail(false); }

TEST_CASE("event log: segments roll at their size and are dropped only when wholly behind") {
  temp_dir dir;
  event_log log(dir.path, 100);
  log.start(1);
  for (std::uint64_t seq = 1; seq <= 9; ++seq) log.append(seq, std::string(60, 'a'));  // two a segment
  CHECK(log.segment_count() == 5);  // 1-2, 3-4, 5-6, 7-8, 9
  log.drop_through(2);
  CHECK(log.segment_count() == 4);
  log.drop_through(5);  // 5-6 still holds 6
  CHECK(log.segment_count() == 3);
  log.drop_through(100);  // the segment taking appends stays
  CHECK(log.segment_count() == 1);
  CHECK(segments(dir.path).size() == 1);
  CHECK(replayed(dir.path).size() == 1);
}

TEST_CASE("log codec: a group round-trips every field the task rules read") {
  const auto at = dh::test::contract_time;
  std::vector<dh::protocol::task_event> events = {
      dh::test::created("alice", "1", at).shared({"bob", "carol"}).completed().title("caf\xc3\xa9 \"x\""),
      dh::test::deleted("bob", "task-2", at + 1s)};
  events[0].task_id = 1;  // a number id stays a number
  std::string body;
  dh::store::encode_group(42, at + 5s, events, body);
  const auto group = dh::store::decode_group(body);
  CHECK(group.seq == 42);
  CHECK(group.now == at + 5s);
  REQUIRE(group.events.size() == 2);
  for (std::size_t i = 0; i < events.size(); ++i) {
    CAPTURE(i);
    const auto& a = events[i];
    const auto& b = group.events[i];
    CHECK(a.action == b.action);
    CHECK(a.owner == b.owner);
    CHECK(a.shared_with == b.shared_with);
    CHECK(a.sets_audience == b.sets_audience);
    CHECK(a.task_key == b.task_key);
    CHECK(boost::json::serialize(a.task_id) == boost::json::serialize(b.task_id));
    CHECK(boost::json::serialize(a.task) == boost::json::serialize(b.task));
    CHECK(b.task_text == boost::json::serialize(a.task));  // replay reuses the accepted bytes
    CHECK(b.task_id_text == boost::json::serialize(a.task_id));
    CHECK(a.completed == b.completed);
    CHECK(a.updated_at == b.updated_at);
  }
  SUBCASE("a record that is not a group is a store_error, never a crash") {
    CHECK_THROWS_AS(dh::store::decode_group(body.substr(0, body.size() - 1)), dh::core::store_error);
    CHECK_THROWS_AS(dh::store::decode_group(body + "x"), dh::core::store_error);
    CHECK_THROWS_AS(dh::store::decode_group(""), dh::core::store_error);
  }
}

TEST_CASE("key filter: never forgets a key, rarely claims an unseen one") {
  dh::store::key_filter filter(20);  // 1 Mbit
  for (int i = 0; i < 50'000; ++i) filter.add("task-" + std::to_string(i));
  int forgotten = 0, claimed = 0;
  for (int i = 0; i < 50'000; ++i) forgotten += filter.may_contain("task-" + std::to_string(i)) ? 0 : 1;
  for (int i = 0; i < 50'000; ++i) claimed += filter.may_contain("other-" + std::to_string(i)) ? 1 : 0;
  CHECK(forgotten == 0);
  CHECK(claimed < 1'000);  // about 0.2 % expected at 50,000 keys in 2^20 bits
}

}  // namespace store_event_log_test
