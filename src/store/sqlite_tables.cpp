#include "store/sqlite_tables.hpp"

#include "core/memory_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include <unordered_map>

namespace dh::store {

namespace json = boost::json;
using core::store_error;

namespace {

std::int64_t to_ms(core::wall_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
core::wall_time from_ms(std::int64_t ms) {
  return core::wall_time{std::chrono::duration_cast<core::wall_time::duration>(std::chrono::milliseconds(ms))};
}

// A prepared statement, finalized on scope exit; binds by 1-based position.
class statement {
 public:
  statement(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
      throw store_error(fmt::format("preparing '{}': {}", sql.substr(0, 60), sqlite3_errmsg(db)));
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::string_view text) {
    check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  statement& bind(int i, std::int64_t n) {
    check(sqlite3_bind_int64(stmt_, i, n));
    return *this;
  }
  // True while there is a row; throws on error.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw store_error(fmt::format("sqlite: {}", sqlite3_errmsg(db_)));
  }
  // Runs a statement that returns no rows and makes it reusable, whether it succeeded or not:
  // cached statements must never stay half-run after a failed batch.
  void run() {
    const int rc = sqlite3_step(stmt_);
    std::string error = rc == SQLITE_DONE || rc == SQLITE_ROW ? std::string() : sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (!error.empty()) throw store_error(fmt::format("sqlite: {}", error));
  }
  // Makes a statement that was stepped through rows reusable.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw store_error(fmt::format("sqlite bind: {}", sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw store_error(fmt::format("sqlite: {}", text));
  }
}

// Each entry upgrades the schema by one version; never edit one that has shipped.
constexpr const char* migrations[] = {
    R"(CREATE TABLE tasks (
         task_key TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         audience TEXT NOT NULL,
         completed INTEGER NOT NULL,
         deleted INTEGER NOT NULL,
         updated_at_ms INTEGER NOT NULL,
         task_id TEXT NOT NULL,
         task TEXT NOT NULL) WITHOUT ROWID;
       CREATE TABLE users (
         user_id TEXT PRIMARY KEY,
         total INTEGER NOT NULL,
         completed INTEGER NOT NULL,
         last_event_id INTEGER NOT NULL,
         updated_at_ms INTEGER NOT NULL) WITHOUT ROWID;
       CREATE TABLE history (
         user_id TEXT NOT NULL,
         event_id INTEGER NOT NULL,
         at_ms INTEGER NOT NULL,
         payload TEXT NOT NULL,
         PRIMARY KEY (user_id, event_id)) WITHOUT ROWID;)",
    // 2: age-based retention deletes by time without scanning every user's history.
    R"(CREATE INDEX history_by_age ON history (at_ms);)",
    // 3: the event log is the durable record; the tables say which of its groups they hold.
    R"(CREATE TABLE applied (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
       INSERT INTO applied (id, seq) VALUES (1, 0);)",
};

// How often history older than --history-age is deleted; reads filter by age in between.
constexpr auto age_trim_interval = std::chrono::minutes(1);

// Rolls back unless committed: a failing batch leaves nothing behind.
class transaction {
 public:
  explicit transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  ~transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace

std::size_t table_changes::bytes() const noexcept {
  std::size_t n = sizeof(*this);
  for (const auto& [key, row] : tasks) n += key.size() + row.task_id_json.size() + (row.task_json ? row.task_json->size() : 0) + 128;
  for (const auto& [user, stats] : users) n += user.size() + 64;
  for (const auto& row : history) n += row.user.size() + row.payload.size() + 64;
  return n;
}

struct sqlite_tables::prepared {
  explicit prepared(sqlite3* db)
      : task(db,
             "INSERT OR REPLACE INTO tasks (task_key, owner, audience, completed, deleted, updated_at_ms, task_id, task)"
             " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        user(db,
             "INSERT OR REPLACE INTO users (user_id, total, completed, last_event_id, updated_at_ms)"
             " VALUES (?, ?, ?, ?, ?)"),
        history(db, "INSERT INTO history (user_id, event_id, at_ms, payload) VALUES (?, ?, ?, ?)"),
        trim_count(db, "DELETE FROM history WHERE user_id = ? AND event_id <= ?"),
        trim_age(db, "DELETE FROM history WHERE at_ms < ?"),
        find_task(db, "SELECT owner, audience, completed, deleted, updated_at_ms FROM tasks WHERE task_key = ?"),
        set_applied(db, "UPDATE applied SET seq = ? WHERE id = 1") {}
  statement task, user, history, trim_count, trim_age, find_task, set_applied;
};

sqlite_tables::sqlite_tables(const std::filesystem::path& file, core::history_settings settings, int cache_kib)
    : settings_(settings) {
  const auto path = file.string();
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close_v2(db_);
    throw store_error(fmt::format("cannot open {}: {}", path, message));
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    migrate();  // first: a file from a newer binary is refused before anything about it changes
    exec(db_, "PRAGMA journal_mode=WAL");
    // The event log is the durable record: a commit here needs no fsync of its own. WAL with
    // NORMAL stays consistent across a power loss, only its newest commits may be lost, and the
    // log still holds those until make_durable() has checkpointed them (README "Durability").
    exec(db_, "PRAGMA synchronous=NORMAL");
    // SQLite's default of ~4 MB: 8,192 pages stalled the log's fdatasync behind larger checkpoint
    // writes, and 250 or 100 did not lower durable p99 measurably (bench/RESULTS.md, issue 11).
    exec(db_, "PRAGMA wal_autocheckpoint=1000");
    exec(db_, fmt::format("PRAGMA cache_size=-{}", cache_kib).c_str());
    statements_ = std::make_unique<prepared>(db_);
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

sqlite_tables::~sqlite_tables() {
  statements_.reset();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

void sqlite_tables::migrate() {
  statement version(db_, "PRAGMA user_version");
  version.step();
  const auto current = static_cast<int>(version.integer(0));
  if (current > schema_version)
    throw store_error(fmt::format("data dir schema version {} is newer than this binary's {}", current, schema_version));
  for (int v = current; v < schema_version; ++v) {
    transaction tx(db_);
    exec(db_, migrations[v]);
    exec(db_, fmt::format("PRAGMA user_version = {}", v + 1).c_str());
    tx.commit();
  }
}

void sqlite_tables::for_each_user(const std::function<void(std::string, core::user_stats)>& visit) {
  statement users(db_, "SELECT user_id, total, completed, last_event_id, updated_at_ms FROM users");
  while (users.step()) {
    visit(users.text(0), core::user_stats{users.integer(1), users.integer(2), from_ms(users.integer(4)),
                                          static_cast<std::uint64_t>(users.integer(3))});
  }
}

std::optional<core::task_row> sqlite_tables::find_task(const std::string& key) {
  auto& find = statements_->find_task;
  find.bind(1, key);
  std::optional<core::task_row> found;
  try {
    if (find.step()) {
      core::task_row row;
      row.owner = find.text(0);
      const auto audience = json::parse(find.text(1));  // named: a temporary would die before the loop
      for (const auto& v : audience.as_array()) row.audience.emplace_back(v.as_string());
      row.completed = find.integer(2) != 0;
      row.deleted = find.integer(3) != 0;
      row.updated_at = from_ms(find.integer(4));
      found = std::move(row);
    }
  } catch (...) {
    find.reset();
    throw;
  }
  find.reset();
  return found;
}

void sqlite_tables::for_each_task_key(const std::function<void(std::string_view)>& visit) {
  statement keys(db_, "SELECT task_key FROM tasks");
  while (keys.step()) visit(keys.text(0));
}

std::uint64_t sqlite_tables::applied_seq() {
  statement applied(db_, "SELECT seq FROM applied WHERE id = 1");
  return applied.step() ? static_cast<std::uint64_t>(applied.integer(0)) : 0;
}

void sqlite_tables::write(const std::vector<table_changes>& groups) {
  if (groups.empty()) return;
  // A task or user changed by several groups is written once, with its last row.
  std::unordered_map<std::string_view, const core::task_row*> tasks;
  std::vector<std::pair<std::string_view, const core::task_row*>> task_order;
  std::unordered_map<std::string_view, std::size_t> user_index;
  std::vector<std::pair<std::string, const core::user_stats*>> users;
  for (const auto& g : groups) {
    for (const auto& [key, row] : g.tasks) {
      if (auto [it, fresh] = tasks.try_emplace(key, &row); !fresh) it->second = &row;
      else task_order.emplace_back(key, nullptr);
    }
    for (const auto& [id, stats] : g.users) {
      if (auto [it, fresh] = user_index.try_emplace(id, users.size()); fresh) users.emplace_back(id, &stats);
      else users[it->second].second = &stats;
    }
  }
  transaction tx(db_);
  auto& st = *statements_;
  for (const auto& [key, unused] : task_order) {
    const auto& row = *tasks.at(key);
    json::array audience(row.audience.begin(), row.audience.end());
    st.task.bind(1, key).bind(2, row.owner).bind(3, json::serialize(audience)).bind(4, std::int64_t{row.completed});
    st.task.bind(5, std::int64_t{row.deleted}).bind(6, to_ms(row.updated_at)).bind(7, row.task_id_json);
    st.task.bind(8, *row.task_json).run();
  }
  for (const auto& [id, stats] : users) {
    st.user.bind(1, id).bind(2, stats->total).bind(3, stats->completed);
    st.user.bind(4, static_cast<std::int64_t>(stats->last_event_id)).bind(5, to_ms(stats->updated_at)).run();
  }
  for (const auto& g : groups) {
    for (const auto& row : g.history) {
      st.history.bind(1, row.user).bind(2, static_cast<std::int64_t>(row.event_id)).bind(3, to_ms(row.at));
      st.history.bind(4, row.payload).run();
    }
  }
  trim_history(users, groups.back().now);
  st.set_applied.bind(1, static_cast<std::int64_t>(groups.back().seq)).run();
  tx.commit();
}

// Retention: by count for the users these groups touched (a range of the primary key), by age at
// most once per age_trim_interval (reads skip expired rows in between).
void sqlite_tables::trim_history(const std::vector<std::pair<std::string, const core::user_stats*>>& users,
                                 core::wall_time now) {
  auto& st = *statements_;
  for (const auto& [id, stats] : users) {
    if (stats->last_event_id <= settings_.max_events) continue;
    st.trim_count.bind(1, id).bind(2, static_cast<std::int64_t>(stats->last_event_id - settings_.max_events)).run();
  }
  if (now - last_age_trim_ >= age_trim_interval) {
    st.trim_age.bind(1, to_ms(now - settings_.max_age)).run();
    last_age_trim_ = now;
  }
}

bool sqlite_tables::make_durable() {
  int wal_frames = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_FULL, &wal_frames, &copied);
  if (rc == SQLITE_BUSY) return false;
  if (rc != SQLITE_OK) throw store_error(fmt::format("sqlite checkpoint: {}", sqlite3_errmsg(db_)));
  return wal_frames == copied;
}

core::history_page sqlite_tables::history(const std::string& user, std::uint64_t after, std::size_t limit,
                                          core::wall_time now, std::uint64_t last_event_id) {
  core::history_page page;
  page.last_event_id = last_event_id;
  // Nothing is newer than the newest id (and an id past 2^63 would reach SQLite as a negative
  // one): what history holds does not matter then.
  if (after >= page.last_event_id) {
    page.complete = core::history_covers(after, 0, page.last_event_id);
    return page;
  }
  const auto oldest_kept = to_ms(now - settings_.max_age);
  statement oldest(db_, "SELECT MIN(event_id) FROM history WHERE user_id = ? AND at_ms >= ?");
  oldest.bind(1, user).bind(2, oldest_kept);
  oldest.step();
  page.complete = core::history_covers(after, static_cast<std::uint64_t>(oldest.integer(0)), page.last_event_id);
  statement rows(db_,
                 "SELECT event_id, payload FROM history WHERE user_id = ? AND event_id > ? AND at_ms >= ?"
                 " ORDER BY event_id LIMIT ?");
  rows.bind(1, user).bind(2, static_cast<std::int64_t>(after)).bind(3, oldest_kept);
  rows.bind(4, static_cast<std::int64_t>(limit));
  while (rows.step()) page.entries.push_back({static_cast<std::uint64_t>(rows.integer(0)), rows.text(1)});
  return page;
}

}  // namespace dh::store
