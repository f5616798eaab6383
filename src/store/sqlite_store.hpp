// sqlite_store.hpp — the embedded store in --data-dir: an append-only event log is the durable
// record (a batch counts once its group is fdatasync'd there) and SQLite tables, folded in behind
// it on their own thread, hold what is read back. Memory holds every user's statistics and a
// bounded cache of tasks, not the tasks ever stored. Calls come from one thread at a time.
#pragma once

#include "core/store.hpp"
#include "core/task_model.hpp"
#include "store/event_log.hpp"
#include "store/key_filter.hpp"
#include "store/sqlite_tables.hpp"
#include "store/table_folder.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace dh::store {

struct sqlite_options {
  std::size_t task_cache_rows = 100'000;          // tasks kept in memory besides those not yet folded
  std::size_t max_unfolded_bytes = 64 << 20;      // ingest waits while more than this awaits SQLite
  std::uintmax_t segment_bytes = event_log::default_segment_bytes;
  std::chrono::milliseconds fold_gather{1000};    // how long SQLite waits to fold more groups at once
};

class sqlite_store final : public core::store {
 public:
  // Opens (creating) dir/dashboard-hub.db and dir/log/, and applies every logged group SQLite
  // does not hold yet. Throws core::store_error with context.
  static std::unique_ptr<sqlite_store> open(const std::filesystem::path& dir, core::history_settings settings,
                                            sqlite_options options = {});
  ~sqlite_store() override;

  core::apply_result apply(const std::vector<protocol::task_event>& events, core::wall_time now) override;
  core::user_stats stats(const std::string& user) override;
  core::history_page history(const std::string& user, std::uint64_t after, std::size_t limit,
                             core::wall_time now) override;
  bool available() const noexcept override { return !folder_->failed() && !log_.broken(); }
  core::store_report report() const override {
    return {"sqlite", "on disk: each batch is in the store's log and fsynced before its 202"};
  }

  std::size_t cached_tasks() const noexcept { return model_.task_count(); }
  std::size_t log_segments() const noexcept { return log_.segment_count(); }
  // Groups the last open() found in the log but not in SQLite, and applied again.
  std::uint64_t replayed_at_open() const noexcept { return replayed_; }

  static constexpr int schema_version = sqlite_tables::schema_version;
  static constexpr const char* file_name = sqlite_tables::file_name;
  static constexpr const char* log_dir = "log";

  // Only open() can make the key, so only open() constructs.
  class key {
    friend class sqlite_store;
    key() = default;
  };
  sqlite_store(key, const std::filesystem::path& dir, core::history_settings settings, sqlite_options options);

 private:
  std::uint64_t replay(sqlite_tables& writer);
  void remember_keys(const core::change_set& changes);  // returns the group the tables hold durably

  std::unique_ptr<sqlite_tables> reader_;  // this thread's connection: tasks the cache misses, history
  key_filter stored_keys_;                 // every task key SQLite holds or will: most misses skip SQLite
  core::task_model model_;
  event_log log_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t replayed_ = 0;
  std::string record_;  // reused between appends
  std::unique_ptr<table_folder> folder_;
};

}  // namespace dh::store
