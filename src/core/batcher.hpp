// batcher.hpp — gathers one user's task updates over a batch window and collapses several updates
// of one task into the latest (created+updated → created, updated+deleted → deleted,
// created+deleted → nothing). Pure and single-threaded: the hub owns one per user.
#pragma once

#include "core/clock.hpp"
#include "protocol/task_event.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dh::core {

struct task_update {
  std::string task_key;
  protocol::task_action action = protocol::task_action::updated;
  std::uint64_t event_id = 0;
  std::string task_id_json;                      // serialised once per event by the store,
  std::shared_ptr<const std::string> task_json;  // shared by every user the event reached
  wall_time accepted{};                          // when ingest accepted the event (metrics)
};

class batcher {
 public:
  // True when the update opened a new window: the caller arms the flush timer.
  bool add(task_update update);
  // The window's updates, collapsed, in increasing event id order; the window closes.
  std::vector<task_update> take();
  bool empty() const noexcept { return live_ == 0; }

 private:
  std::vector<task_update> items_;
  std::vector<bool> dropped_;
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t live_ = 0;
  bool open_ = false;  // a window is open until take(), even if its updates cancelled out
};

// The action a client should see for `first` followed by `second` on one task, or nullopt when
// the two cancel out.
std::optional<protocol::task_action> collapse(protocol::task_action first, protocol::task_action second) noexcept;

}  // namespace dh::core
