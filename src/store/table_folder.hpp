// table_folder.hpp — folds committed groups into the SQLite tables on a thread of its own, many
// groups per transaction, behind the event log: ingest waits for the log's fdatasync, not for
// SQLite. Its backlog is bounded, so a store that cannot keep up slows ingest instead of growing.
#pragma once

#include "store/sqlite_tables.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dh::store {

class table_folder {
 public:
  // `durable_every`: log bytes folded between two checkpoints that make the tables durable (and
  // so let the log drop what they hold).
  // `durable_seq`: the newest group the tables already hold durably.
  // A fold waits up to `gather` for more groups (or a reader, or a quarter of the backlog bound):
  // a page that many groups touch is then written once, not once per group.
  table_folder(std::unique_ptr<sqlite_tables> tables, std::uint64_t durable_seq, std::size_t max_backlog_bytes,
               std::uintmax_t durable_every, std::chrono::milliseconds gather);
  // Folds whatever is still queued, makes it durable, and stops.
  ~table_folder();
  table_folder(const table_folder&) = delete;
  table_folder& operator=(const table_folder&) = delete;

  // Throws core::store_error once folding has failed: new groups must not be accepted then.
  void check() const;
  // Queues a group already durable in the log (`log_bytes` of it); waits while the backlog is
  // over its bound. After a failure the group is dropped: the log still holds it for a restart.
  void push(table_changes group, std::size_t log_bytes);
  // Waits until every pushed group is in the tables, readable by any connection; throws
  // core::store_error if folding failed.
  void wait_folded();

  std::uint64_t folded_seq() const noexcept { return folded_.load(std::memory_order_acquire); }
  std::uint64_t durable_seq() const noexcept { return durable_.load(std::memory_order_acquire); }
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }

 private:
  void run();
  bool fold(std::vector<table_changes>& groups);
  bool make_durable();  // true: durable_seq() is now what was folded

  std::unique_ptr<sqlite_tables> tables_;
  const std::size_t max_backlog_bytes_;
  const std::uintmax_t durable_every_;
  const std::chrono::milliseconds gather_;
  std::uintmax_t since_durable_ = 0;  // folder thread only

  mutable std::mutex mutex_;  // guards everything below up to the atomics
  std::condition_variable work_;      // queued groups or stop, for the folder thread
  std::condition_variable progress_;  // groups folded or folding failed, for the store thread
  std::vector<table_changes> queue_;
  std::size_t backlog_bytes_ = 0;     // queued and being folded
  std::size_t queued_bytes_ = 0;      // of backlog_bytes_, those still queued
  std::size_t queued_log_bytes_ = 0;
  std::uint64_t pushed_seq_ = 0;
  std::string failure_;
  bool stop_ = false;
  bool reader_waits_ = false;  // fold now: somebody waits for the tables

  std::atomic<std::uint64_t> folded_{0};
  std::atomic<std::uint64_t> durable_{0};
  std::atomic<bool> failed_{false};
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace dh::store
