// task_model.hpp — the rules of the store, kept in memory: last writer wins per task, audiences
// (owner + sharedWith), per-user counters updated per event (never a scan) and per-user event
// ids. plan() computes a batch's effects without changing anything; commit() applies them once
// they are durable. Not thread-safe: one store thread owns it.
#pragma once

#include "core/store.hpp"

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
};

class task_model {
 public:
  change_set plan(const std::vector<protocol::task_event>& events, wall_time now) const;
  void commit(change_set& changes);

  void load(std::string key, task_row row) { tasks_.insert_or_assign(std::move(key), std::move(row)); }
  void load(std::string user, user_stats stats) { users_.insert_or_assign(std::move(user), stats); }

  user_stats stats(const std::string& user) const;
  const task_row* find(const std::string& key) const;
  std::size_t task_count() const noexcept { return tasks_.size(); }

 private:
  std::unordered_map<std::string, task_row> tasks_;
  std::unordered_map<std::string, user_stats> users_;
};

}  // namespace dh::core
