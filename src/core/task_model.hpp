// task_model.hpp — the rules of the store: last writer wins per task, audiences (owner +
// sharedWith), per-user counters updated per event (never a scan) and per-user event ids.
// plan() computes a batch's effects without changing anything; commit() applies them once they
// are durable. Every user's statistics stay in memory; tasks either all (the in-memory store) or
// as a bounded cache over a row source (the embedded store's SQLite). Not thread-safe.
#pragma once

#include "core/store.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dh::core {

struct task_row {
  std::string owner;
  std::vector<std::string> audience;  // sorted, includes the owner; empty once deleted
  bool completed = false;
  bool deleted = false;               // kept as a tombstone so an older update cannot revive it
  wall_time updated_at{};
  std::string task_id_json;                      // the task's id and object, serialised once per
  std::shared_ptr<const std::string> task_json;  // event and stored as they are
};

struct history_row {
  std::string user;
  std::uint64_t event_id = 0;
  wall_time at{};
  std::string payload;
};

struct change_set {
  apply_result result;
  std::vector<std::pair<std::string, task_row>> tasks;    // final rows of the tasks it touched
  std::vector<std::pair<std::string, user_stats>> users;  // final rows of the users it touched
  std::vector<history_row> history;                       // new history, in order
  // Rows plan() read from the row source (nullopt: no such task), cached by commit().
  std::vector<std::pair<std::string, std::optional<task_row>>> fetched;
};

class task_model {
 public:
  // Reads the stored row of a task the cache does not hold (nullopt: never stored).
  using row_source = std::function<std::optional<task_row>(const std::string& key)>;

  task_model() = default;  // every task in memory
  // At most about `cache_rows` tasks in memory, plus those changed but not yet settled().
  task_model(std::size_t cache_rows, row_source source);

  change_set plan(const std::vector<protocol::task_event>& events, wall_time now) const;
  // `seq` names the commit for settled(); rows it changed stay in memory until then.
  void commit(change_set& changes, std::uint64_t seq = 0);
  // The row source now holds every commit up to `seq`: their rows may leave the cache.
  void settled(std::uint64_t seq);

  void load(std::string user, user_stats stats) { users_.insert_or_assign(std::move(user), stats); }

  user_stats stats(const std::string& user) const;
  const task_row* find(const std::string& key) const;  // in memory only; nullptr otherwise
  std::size_t task_count() const noexcept { return tasks_.size(); }
  std::size_t user_count() const noexcept { return users_.size(); }

 private:
  struct cached {
    task_row row;
    std::uint64_t dirty_seq = 0;  // the commit that last changed it, until settled; 0: settled
    std::list<const std::string*>::iterator lru;  // valid while settled (bounded mode)
  };
  bool bounded() const noexcept { return static_cast<bool>(source_); }
  void put(const std::string& key, task_row row, std::uint64_t seq);
  void evict();

  std::unordered_map<std::string, cached> tasks_;
  std::unordered_map<std::string, user_stats> users_;
  std::size_t cache_rows_ = 0;
  row_source source_;
  std::list<const std::string*> lru_;                      // settled rows, most recently written first
  std::deque<std::pair<std::uint64_t, std::string>> dirty_;  // (commit, task) in commit order
};

}  // namespace dh::core
