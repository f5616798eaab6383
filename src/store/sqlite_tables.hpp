// sqlite_tables.hpp — the embedded store's SQLite file: schema and migrations, and what one
// connection reads and writes. The event log's groups are folded into it in large transactions.
#pragma once

#include "core/store.hpp"
#include "core/task_model.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace dh::store {

// What one committed group changed, as rows: the task rules' change set without the reply.
struct table_changes {
  std::uint64_t seq = 0;  // the group's number in the event log
  core::wall_time now{};
  std::vector<std::pair<std::string, core::task_row>> tasks;
  std::vector<std::pair<std::string, core::user_stats>> users;
  std::vector<core::history_row> history;
  std::size_t bytes() const noexcept;  // roughly what it holds in memory
};

class sqlite_tables {
 public:
  static constexpr int schema_version = 3;
  static constexpr const char* file_name = "dashboard-hub.db";

  // Opens (creating and migrating) the file in WAL mode; throws core::store_error with context.
  // A file from a newer binary is refused before anything about it changes.
  // `cache_kib`: SQLite's page cache for this connection.
  sqlite_tables(const std::filesystem::path& file, core::history_settings settings, int cache_kib);
  ~sqlite_tables();
  sqlite_tables(const sqlite_tables&) = delete;
  sqlite_tables& operator=(const sqlite_tables&) = delete;

  void for_each_user(const std::function<void(std::string, core::user_stats)>& visit);
  std::optional<core::task_row> find_task(const std::string& key);
  void for_each_task_key(const std::function<void(std::string_view)>& visit);
  // The newest event-log group folded into the tables (0: none).
  std::uint64_t applied_seq();
  // One transaction: each task and user once (its last row), every history row, retention, and
  // the last group's seq as applied. All or nothing; throws core::store_error.
  void write(const std::vector<table_changes>& groups);
  // Copies the whole WAL into the file and syncs it: what is written so far survives a power
  // loss. False if readers kept part of it back (then try later).
  bool make_durable();
  core::history_page history(const std::string& user, std::uint64_t after, std::size_t limit, core::wall_time now,
                             std::uint64_t last_event_id);

 private:
  void migrate();
  void trim_history(const std::vector<std::pair<std::string, const core::user_stats*>>& users, core::wall_time now);

  struct prepared;  // statements prepared once at open
  sqlite3* db_ = nullptr;
  core::history_settings settings_;
  std::unique_ptr<prepared> statements_;
  core::wall_time last_age_trim_{};
};

}  // namespace dh::store
