// store_sqlite_test.cpp — the embedded SQLite store of SPEC §3: file layout and schema version,
// persistence across restarts, history retention, all-or-nothing batches, refusing newer schemas.
#include "store/sqlite_store.hpp"

#include "core/memory_store.hpp"

#include "support/task_events.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <limits>

#include <boost/json/parse.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <sys/resource.h>

namespace store_sqlite_test {  // unity builds compile several test files as one unit

namespace fs = std::filesystem;
namespace json = boost::json;
using dh::core::history_page;
using dh::core::history_settings;
using dh::core::store_error;
using dh::core::user_stats;
using dh::core::wall_time;
using dh::protocol::task_action;
using dh::protocol::task_event;
using dh::test::created;
using dh::test::deleted;
using dh::test::updated;
using dh::store::sqlite_store;
using namespace std::chrono_literals;

namespace {

// Whole milliseconds, as the store keeps them.
const wall_time t0 = wall_time{std::chrono::sys_days{std::chrono::year{2026} / 1 / 3}} + 10h + 123ms;

struct temp_dir : dh::test::temp_dir {
  temp_dir() : dh::test::temp_dir("dh-store-sqlite-test-") {}
  fs::path db_file() const { return path / sqlite_store::file_name; }
};

// A second, plain connection to the store's file, to look behind the store's back.
class raw_db {
 public:
  explicit raw_db(const fs::path& file) {
    const int rc = sqlite3_open_v2(file.string().c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    REQUIRE_MESSAGE(rc == SQLITE_OK, "cannot open " << file.string());
  }
  ~raw_db() { sqlite3_close_v2(db_); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    const std::string text = message ? message : "";
    sqlite3_free(message);
    REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << text);
  }
  // The first column of the first row, as text.
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      if (p) out = p;
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }

 private:
  sqlite3* db_ = nullptr;
};


std::unique_ptr<sqlite_store> open_store(const temp_dir& dir, history_settings settings = {}) {
  auto s = sqlite_store::open(dir.path, settings);
  REQUIRE(s);
  return s;
}

std::vector<std::uint64_t> ids_of(const history_page& page) {
  std::vector<std::uint64_t> ids;
  for (const auto& h : page.entries) ids.push_back(h.event_id);
  return ids;
}

void check_same_stats(const user_stats& a, const user_stats& b) {
  CHECK(a.total == b.total);
  CHECK(a.completed == b.completed);
  CHECK(a.last_event_id == b.last_event_id);
  CHECK(a.updated_at == b.updated_at);
}

void check_same_history(const history_page& a, const history_page& b) {
  CHECK(a.complete == b.complete);
  CHECK(a.last_event_id == b.last_event_id);
  REQUIRE(a.entries.size() == b.entries.size());
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    CAPTURE(i);
    CHECK(a.entries[i].event_id == b.entries[i].event_id);
    CHECK(a.entries[i].payload == b.entries[i].payload);
  }
}

// Files of this process cannot grow past `bytes` (as on a full disk) until scope exit.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t bytes) {
    std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old_) == 0);
    const rlimit limited{bytes, old_.rlim_max};
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~file_size_limit() { setrlimit(RLIMIT_FSIZE, &old_); }
  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;

 private:
  rlimit old_{};
};

}  // namespace

TEST_CASE("sqlite store: open creates a WAL database at the current schema version") {
  temp_dir dir;
  const auto nested = dir.path / "data" / "deeper";
  {
    auto store = sqlite_store::open(nested, {});
    REQUIRE(store);
    CHECK(fs::exists(nested / sqlite_store::file_name));
  }
  raw_db db(nested / sqlite_store::file_name);
  CHECK(db.integer("PRAGMA user_version") == sqlite_store::schema_version);
  CHECK(db.text("PRAGMA journal_mode") == "wal");
  CHECK(db.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('tasks','users','history')") ==
        3);

  SUBCASE("reopening an existing file keeps its version") {
    auto again = sqlite_store::open(nested, {});
    REQUIRE(again);
    CHECK(db.integer("PRAGMA user_version") == sqlite_store::schema_version);
  }
}

TEST_CASE("sqlite store: a fresh store is empty") {
  temp_dir dir;
  auto store = open_store(dir);
  const auto s = store->stats("u");
  CHECK(s.total == 0);
  CHECK(s.last_event_id == 0);
  const auto page = store->history("u", 0, 100, t0);
  CHECK(page.entries.empty());
  CHECK(page.complete);
}

TEST_CASE("sqlite store: apply returns per-user views and event ids") {
  temp_dir dir;
  auto store = open_store(dir);
  const auto r = store->apply({created("u", "a", t0).shared({"v"}), created("u", "b", t0).completed()}, t0);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0].applied);
  REQUIRE(r.events[0].audience.size() == 2);
  REQUIRE(r.events[1].audience.size() == 1);
  CHECK(r.events[1].audience[0].event_id == 2);
  CHECK(store->stats("u").total == 2);
  CHECK(store->stats("u").completed == 1);
  CHECK(store->stats("v").total == 1);
  const auto page = store->history("v", 0, 100, t0);
  REQUIRE(page.entries.size() == 1);
  const auto payload = json::parse(page.entries[0].payload).as_object();
  CHECK(payload.at("action") == json::value("created"));
  CHECK(payload.at("task").at("priority") == json::value("medium"));
}

TEST_CASE("sqlite store: state survives a restart") {
  temp_dir dir;
  user_stats u_before, v_before;
  history_page u_history, v_history;
  {
    auto store = open_store(dir);
    store->apply({created("u", "a", t0).shared({"v"}), created("u", "b", t0)}, t0);
    store->apply({updated("u", "a", t0 + 1s).completed()}, t0 + 1s);
    store->apply({deleted("u", "b", t0 + 2s)}, t0 + 2s);
    u_before = store->stats("u");
    v_before = store->stats("v");
    u_history = store->history("u", 0, 100, t0 + 3s);
    v_history = store->history("v", 0, 100, t0 + 3s);
    REQUIRE(u_before.last_event_id == 4);
    REQUIRE(u_history.entries.size() == 4);
  }
  auto store = open_store(dir);
  check_same_stats(store->stats("u"), u_before);
  check_same_stats(store->stats("v"), v_before);
  CHECK(store->stats("u").total == 1);
  CHECK(store->stats("u").completed == 1);
  check_same_history(store->history("u", 0, 100, t0 + 3s), u_history);
  check_same_history(store->history("v", 0, 100, t0 + 3s), v_history);

  SUBCASE("new event ids continue increasing") {
    const auto r = store->apply({updated("u", "a", t0 + 10s)}, t0 + 10s);
    REQUIRE(r.events[0].applied);
    bool saw_u = false, saw_v = false;
    for (const auto& seen : r.events[0].audience) {
      if (seen.user == "u") {
        saw_u = true;
        CHECK(seen.event_id == u_before.last_event_id + 1);
      }
      if (seen.user == "v") {
        saw_v = true;
        CHECK(seen.event_id == v_before.last_event_id + 1);
        CHECK(seen.action == task_action::updated);  // the audience survived too
      }
    }
    CHECK(saw_u);
    CHECK(saw_v);
    CHECK(ids_of(store->history("u", 4, 100, t0 + 10s)) == std::vector<std::uint64_t>{5});
  }
  SUBCASE("last writer wins across the restart") {
    const auto r = store->apply({updated("u", "a", t0), created("u", "b", t0 + 1s)}, t0 + 10s);
    CHECK_FALSE(r.events[0].applied);  // older than the stored update
    CHECK_FALSE(r.events[1].applied);  // older than the stored tombstone
    check_same_stats(store->stats("u"), u_before);
  }
  SUBCASE("a second restart after more writes") {
    store->apply({created("v", "c", t0 + 20s)}, t0 + 20s);
    const auto v_now = store->stats("v");
    store.reset();
    auto third = open_store(dir);
    check_same_stats(third->stats("v"), v_now);
    CHECK(third->stats("v").total == 2);
  }
}

TEST_CASE("sqlite store: history retention by count") {
  temp_dir dir;
  history_settings settings;
  settings.max_events = 3;
  auto store = open_store(dir, settings);
  for (int i = 0; i < 5; ++i) store->apply({updated("u", "a", t0 + i * 1s)}, t0 + i * 1s);

  const auto page = store->history("u", 0, 100, t0 + 10s);
  CHECK(ids_of(page) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK_FALSE(page.complete);
  CHECK(page.last_event_id == 5);
  CHECK(store->history("u", 2, 100, t0 + 10s).complete);
  CHECK_FALSE(store->history("u", 1, 100, t0 + 10s).complete);

  raw_db db(dir.db_file());
  CHECK(db.integer("SELECT count(*) FROM history WHERE user_id = 'u'") == 3);

  SUBCASE("retention is per user") {
    store->apply({created("w", "z", t0)}, t0);
    CHECK(ids_of(store->history("w", 0, 100, t0 + 10s)) == std::vector<std::uint64_t>{1});
    CHECK(db.integer("SELECT count(*) FROM history WHERE user_id = 'u'") == 3);
  }
}

TEST_CASE("sqlite store: history retention by age") {
  temp_dir dir;
  history_settings settings;
  settings.max_age = 1h;
  auto store = open_store(dir, settings);
  store->apply({created("u", "a", t0)}, t0);
  store->apply({updated("u", "a", t0 + 1s)}, t0 + 1s);

  SUBCASE("read within the age") {
    const auto page = store->history("u", 0, 100, t0 + 30min);
    CHECK(ids_of(page) == std::vector<std::uint64_t>{1, 2});
    CHECK(page.complete);
  }
  SUBCASE("read far in the future: nothing is served, the gap is not covered") {
    const auto later = t0 + 24h * 365;
    const auto page = store->history("u", 0, 100, later);
    CHECK(page.entries.empty());
    CHECK_FALSE(page.complete);
    CHECK(page.last_event_id == 2);
    CHECK(store->history("u", 2, 100, later).complete);
  }
  SUBCASE("a later write removes the expired rows") {
    store->apply({updated("u", "a", t0 + 2h)}, t0 + 2h);
    const auto page = store->history("u", 0, 100, t0 + 2h);  // and the tables hold the write by now
    raw_db db(dir.db_file());
    CHECK(db.integer("SELECT count(*) FROM history WHERE user_id = 'u'") == 1);
    CHECK(ids_of(page) == std::vector<std::uint64_t>{3});
    CHECK_FALSE(page.complete);
    CHECK(store->history("u", 2, 100, t0 + 2h).complete);
  }
}

TEST_CASE("sqlite store: a batch the event log cannot take leaves nothing behind") {
  temp_dir dir;
  auto store = open_store(dir);
  const std::vector<task_event> batch = {created("alice", "t1", t0).completed(), created("bob", "t2", t0)};
  {
    file_size_limit full_disk(16);  // the log's first record does not fit
    CHECK_THROWS_AS(store->apply(batch, t0), store_error);
  }
  const auto check_absent = [&](dh::core::store& s) {
    const auto alice = s.stats("alice");
    CHECK(alice.total == 0);
    CHECK(alice.completed == 0);
    CHECK(alice.last_event_id == 0);
    CHECK(s.stats("bob").last_event_id == 0);
    CHECK(s.history("alice", 0, 100, t0).entries.empty());
    raw_db db(dir.db_file());
    CHECK(db.integer("SELECT count(*) FROM tasks") == 0);
    CHECK(db.integer("SELECT count(*) FROM users") == 0);
    CHECK(db.integer("SELECT count(*) FROM history") == 0);
  };
  SUBCASE("in the running store") {
    check_absent(*store);
    CHECK(store->available());
    SUBCASE("which still accepts the next batch, from event id 1") {
      const auto r = store->apply({created("alice", "t1", t0 + 1s)}, t0 + 1s);
      REQUIRE(r.events[0].audience.size() == 1);
      CHECK(r.events[0].audience[0].event_id == 1);
      CHECK(r.events[0].audience[0].action == task_action::created);
      CHECK(store->stats("alice").total == 1);
    }
  }
  SUBCASE("after reopening: the cut-back log replays nothing") {
    store.reset();
    auto reopened = open_store(dir);
    check_absent(*reopened);
  }
}

TEST_CASE("sqlite store: when SQLite fails, accepted batches wait in the log and are applied at the next start") {
  temp_dir dir;
  auto store = open_store(dir);
  {
    raw_db db(dir.db_file());
    db.exec(
        "CREATE TRIGGER poison BEFORE INSERT ON history WHEN NEW.user_id = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  }
  // The same batches through the in-memory store: what the durable one must end up holding.
  dh::core::memory_store reference;
  const std::vector<std::vector<task_event>> batches = {
      {created("alice", "t1", t0).completed(), created("bob", "t2", t0).shared({"poison", "alice"})},
      {updated("bob", "t2", t0 + 1s).completed()},
  };
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto at = t0 + std::chrono::seconds(i);
    const auto r = store->apply(batches[i], at);  // durable in the log: accepted
    const auto expected = reference.apply(batches[i], at);
    REQUIRE(r.events.size() == expected.events.size());
    CHECK(r.events[0].audience.size() == expected.events[0].audience.size());
  }
  // Folding into SQLite failed: reads that need the tables fail, writes are refused, /ready says so.
  CHECK_THROWS_AS(store->history("alice", 0, 100, t0 + 2s), store_error);
  CHECK_FALSE(store->available());
  CHECK_THROWS_AS(store->apply({created("carol", "t3", t0 + 2s)}, t0 + 2s), store_error);
  CHECK(store->stats("alice").total == 2);  // what was accepted counts

  store.reset();
  {
    raw_db db(dir.db_file());
    db.exec("DROP TRIGGER poison");
  }
  auto reopened = open_store(dir);
  CHECK(reopened->available());
  for (const std::string user : {"alice", "bob", "poison", "carol"}) {
    CAPTURE(user);
    check_same_stats(reopened->stats(user), reference.stats(user));
    auto expected = reference.history(user, 0, 100, t0 + 2s);
    check_same_history(reopened->history(user, 0, 100, t0 + 2s), expected);
  }
  raw_db db(dir.db_file());
  CHECK(db.integer("SELECT count(*) FROM history WHERE user_id = 'poison'") == 2);
  CHECK(db.integer("SELECT seq FROM applied") == 2);
}

TEST_CASE("sqlite store: tasks beyond the cache are read back from SQLite, and last writer still wins") {
  temp_dir dir;
  dh::store::sqlite_options small;
  small.task_cache_rows = 2;
  auto store = sqlite_store::open(dir.path, {}, small);
  dh::core::memory_store reference;
  const auto both = [&](std::vector<task_event> batch, wall_time at) {
    const auto r = store->apply(batch, at);
    const auto expected = reference.apply(batch, at);
    REQUIRE(r.events.size() == expected.events.size());
    for (std::size_t i = 0; i < r.events.size(); ++i) {
      CAPTURE(i);
      CHECK(r.events[i].applied == expected.events[i].applied);
      REQUIRE(r.events[i].audience.size() == expected.events[i].audience.size());
      for (std::size_t k = 0; k < r.events[i].audience.size(); ++k) {
        CHECK(r.events[i].audience[k].user == expected.events[i].audience[k].user);
        CHECK(r.events[i].audience[k].event_id == expected.events[i].audience[k].event_id);
        CHECK(r.events[i].audience[k].action == expected.events[i].audience[k].action);
      }
    }
  };
  for (int i = 0; i < 20; ++i)
    both({created("u", "k" + std::to_string(i), t0 + 10s).shared({"v"}).completed(i % 2 == 0)}, t0 + 10s);
  store->history("u", 0, 1, t0 + 10s);  // waits until SQLite holds every batch
  both({updated("u", "k0", t0 + 11s)}, t0 + 11s);  // settles the cache down to its bound
  CHECK(store->cached_tasks() <= 3);

  // A task stamped finer than a millisecond (an event without updatedAt carries the server's
  // clock) decides the same whether it is still cached or read back from SQLite.
  both({created("u", "fine", t0 + 10s + std::chrono::microseconds(600))}, t0 + 11s);
  store->history("u", 0, 1, t0 + 11s);
  for (int i = 0; i < 4; ++i) both({updated("u", "k" + std::to_string(10 + i), t0 + 11s)}, t0 + 11s);  // evicts it
  store->history("u", 0, 1, t0 + 11s);
  both({updated("u", "k15", t0 + 11s)}, t0 + 11s);
  both({updated("u", "fine", t0 + 10s)}, t0 + 12s);  // the same millisecond: applies in both

  both({updated("u", "k1", t0)}, t0 + 12s);                         // older than the stored row: ignored
  both({updated("u", "k2", t0 + 20s).shared({"w"})}, t0 + 12s);     // v leaves the audience, w joins
  both({deleted("u", "k3", t0 + 20s)}, t0 + 12s);                   // reaches the stored audience
  both({created("u", "k3", t0 + 15s)}, t0 + 12s);                   // older than the tombstone
  for (const std::string user : {"u", "v", "w"}) {
    CAPTURE(user);
    check_same_stats(store->stats(user), reference.stats(user));
    check_same_history(store->history(user, 0, 1000, t0 + 12s), reference.history(user, 0, 1000, t0 + 12s));
  }
}

TEST_CASE("sqlite store: log segments are dropped once SQLite holds them durably, and a restart is exact") {
  temp_dir dir;
  dh::store::sqlite_options tiny;
  tiny.segment_bytes = 4096;
  dh::core::memory_store reference;
  {
    auto store = sqlite_store::open(dir.path, {}, tiny);
    for (int i = 0; i < 200; ++i) {
      const std::vector<task_event> batch = {updated("u" + std::to_string(i % 7), "k" + std::to_string(i % 13),
                                                     t0 + std::chrono::seconds(i)).shared({"x"})};
      store->apply(batch, t0 + std::chrono::seconds(i));
      reference.apply(batch, t0 + std::chrono::seconds(i));
      if (i % 50 == 49) store->history("x", 0, 1, t0);  // lets the tables catch up now and then
    }
    CHECK(store->log_segments() < 6);  // 200 records of ~250 bytes filled about a dozen
  }
  auto reopened = sqlite_store::open(dir.path, {}, tiny);
  CHECK(reopened->log_segments() == 1);
  for (const std::string user : {"u0", "u3", "u6", "x"}) {
    CAPTURE(user);
    check_same_stats(reopened->stats(user), reference.stats(user));
    check_same_history(reopened->history(user, 0, 1000, t0 + 300s), reference.history(user, 0, 1000, t0 + 300s));
  }
}

TEST_CASE("sqlite store: a newer schema version is refused") {
  temp_dir dir;
  SUBCASE("a file written by a newer binary") {
    open_store(dir).reset();
    raw_db(dir.db_file()).exec("PRAGMA user_version = " + std::to_string(sqlite_store::schema_version + 1));
  }
  SUBCASE("a bare file with a newer version") {
    raw_db(dir.db_file()).exec("PRAGMA user_version = 99");
  }
  CHECK_THROWS_AS(sqlite_store::open(dir.path, {}), store_error);
  raw_db db(dir.db_file());
  CHECK(db.integer("PRAGMA user_version") > sqlite_store::schema_version);  // left untouched
}

TEST_CASE("sqlite store: a data dir that cannot be created is a store_error") {
  temp_dir dir;
  const auto blocker = dir.path / "not-a-dir";
  std::ofstream(blocker) << "x";
  CHECK_THROWS_AS(sqlite_store::open(blocker / "data", {}), store_error);
}

// Issue 9, item 7: an id past 2^63 reached SQLite as a negative integer and replayed everything.
TEST_CASE("sqlite store: a resume position past the newest id, even past 2^63, replays nothing") {
  temp_dir dir;
  auto store = open_store(dir);
  store->apply({created("u", "a", t0), created("u", "b", t0), created("u", "c", t0)}, t0);
  for (const std::uint64_t after : {std::uint64_t{3}, std::uint64_t{4}, std::uint64_t{1} << 63,
                                    std::numeric_limits<std::uint64_t>::max()}) {
    CAPTURE(after);
    const auto page = store->history("u", after, 100, t0);
    CHECK(page.entries.empty());
    CHECK(page.last_event_id == 3);
  }
  CHECK(ids_of(store->history("u", 1, 100, t0)) == std::vector<std::uint64_t>{2, 3});
}

}  // namespace store_sqlite_test
