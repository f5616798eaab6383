// sqlite_store.hpp — the embedded store: one SQLite file in --data-dir (WAL, schema versioned
// with user_version and migrated at open). The task model is loaded into memory at open and
// every batch is written in one transaction before it takes effect. One thread at a time.
#pragma once

#include "core/store.hpp"
#include "core/task_model.hpp"

#include <filesystem>
#include <memory>

struct sqlite3;

namespace dh::store {

class sqlite_store final : public core::store {
 public:
  // Opens (creating if needed) dir/dashboard-hub.db; throws core::store_error with context.
  static std::unique_ptr<sqlite_store> open(const std::filesystem::path& dir, core::history_settings settings);
  ~sqlite_store() override;

  core::apply_result apply(const std::vector<protocol::task_event>& events, core::wall_time now) override;
  core::user_stats stats(const std::string& user) override;
  core::history_page history(const std::string& user, std::uint64_t after, std::size_t limit,
                             core::wall_time now) override;

  static constexpr int schema_version = 2;
  static constexpr const char* file_name = "dashboard-hub.db";

  // Only open() can make the key, so only open() constructs.
  class key {
    friend class sqlite_store;
    key() = default;
  };
  sqlite_store(key, sqlite3* db, core::history_settings settings);

 private:
  void migrate();
  void load();
  void write(const core::change_set& changes, core::wall_time now);
  void trim_history(const core::change_set& changes, core::wall_time now);

  struct prepared;  // the write path's statements, prepared once at open
  sqlite3* db_;
  core::history_settings settings_;
  core::task_model model_;
  std::unique_ptr<prepared> statements_;
  core::wall_time last_age_trim_{};
};

}  // namespace dh::store
