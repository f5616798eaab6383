#include "store/table_folder.hpp"

#include "core/store.hpp"

#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

namespace dh::store {

namespace {
constexpr int background_nice = 10;
}  // namespace

table_folder::table_folder(std::unique_ptr<sqlite_tables> tables, std::uint64_t durable_seq,
                           std::size_t max_backlog_bytes, std::uintmax_t durable_every,
                           std::chrono::milliseconds gather)
    : tables_(std::move(tables)),
      max_backlog_bytes_(max_backlog_bytes),
      durable_every_(durable_every),
      gather_(gather),
      pushed_seq_(tables_->applied_seq()),
      folded_(pushed_seq_),
      durable_(durable_seq),
      thread_([this] { run(); }) {}

table_folder::~table_folder() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void table_folder::check() const {
  std::lock_guard lock(mutex_);
  if (!failure_.empty())
    throw core::store_error(fmt::format("the SQLite tables stopped taking changes ({}); every accepted event "
                                        "is in the event log and is applied at the next start",
                                        failure_));
}

void table_folder::push(table_changes group, std::size_t log_bytes) {
  const auto bytes = group.bytes();
  std::unique_lock lock(mutex_);
  progress_.wait(lock, [&] { return backlog_bytes_ < max_backlog_bytes_ || !failure_.empty(); });
  if (!failure_.empty()) return;
  pushed_seq_ = group.seq;
  backlog_bytes_ += bytes;
  queued_bytes_ += bytes;
  queued_log_bytes_ += log_bytes;
  queue_.push_back(std::move(group));
  lock.unlock();
  work_.notify_one();
}

void table_folder::wait_folded() {
  std::unique_lock lock(mutex_);
  if (folded_seq() < pushed_seq_) {
    reader_waits_ = true;
    work_.notify_one();
  }
  progress_.wait(lock, [&] { return folded_seq() >= pushed_seq_ || !failure_.empty(); });
  lock.unlock();
  check();
}

void table_folder::run() {
  // Folding is background work with a bounded backlog: the network threads come first on a busy
  // machine, and ingest slows down (backpressure) only if folding falls behind for long.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), background_nice);
  for (;;) {
    std::vector<table_changes> groups;
    std::size_t bytes = 0, log_bytes = 0;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything is folded
      const auto fold_now = [&] { return stop_ || reader_waits_ || backlog_bytes_ >= max_backlog_bytes_ / 4; };
      work_.wait_for(lock, gather_, fold_now);
      reader_waits_ = false;
      groups.swap(queue_);
      bytes = std::exchange(queued_bytes_, 0);
      log_bytes = std::exchange(queued_log_bytes_, 0);
    }
    const bool ok = fold(groups);
    {
      std::lock_guard lock(mutex_);
      backlog_bytes_ -= bytes;
    }
    since_durable_ += log_bytes;
    progress_.notify_all();
    if (!ok) return;
    if (since_durable_ >= durable_every_ && make_durable()) since_durable_ = 0;
  }
  make_durable();
}

bool table_folder::make_durable() {
  const auto folded = folded_seq();
  try {
    if (!tables_->make_durable()) return false;
  } catch (const std::exception&) {
    // Not durable yet, which only means the log keeps its segments a while longer; a store that
    // cannot write at all shows it in the next fold.
    return false;
  }
  durable_.store(folded, std::memory_order_release);
  return true;
}

bool table_folder::fold(std::vector<table_changes>& groups) {
  try {
    tables_->write(groups);
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    failure_ = e.what();
    failed_.store(true, std::memory_order_release);
    return false;
  }
  folded_.store(groups.back().seq, std::memory_order_release);
  return true;
}

}  // namespace dh::store
