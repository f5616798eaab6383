#include "core/batcher.hpp"

#include <algorithm>

namespace dh::core {

using protocol::task_action;

std::optional<task_action> collapse(task_action first, task_action second) noexcept {
  if (first == task_action::created && second == task_action::deleted) return std::nullopt;
  if (first == task_action::created) return task_action::created;  // created+updated: still new to the client
  if (first == task_action::deleted && second != task_action::deleted) return task_action::updated;  // it came back
  return second;
}

bool batcher::add(task_update update) {
  const bool opens_window = !open_;
  open_ = true;
  auto it = index_.find(update.task_key);
  if (it != index_.end() && !dropped_[it->second]) {
    auto& prev = items_[it->second];
    const auto action = collapse(prev.action, update.action);
    if (!action) {
      dropped_[it->second] = true;
      index_.erase(it);
      --live_;
      return opens_window;
    }
    update.action = *action;
    prev = std::move(update);
    return opens_window;
  }
  index_[update.task_key] = items_.size();
  items_.push_back(std::move(update));
  dropped_.push_back(false);
  ++live_;
  return opens_window;
}

std::vector<task_update> batcher::take() {
  std::vector<task_update> out;
  out.reserve(live_);
  for (std::size_t i = 0; i < items_.size(); ++i)
    if (!dropped_[i]) out.push_back(std::move(items_[i]));
  // Ids must increase in delivery order, or a client resuming from the last id it saw could
  // skip an update that was collapsed forward.
  std::sort(out.begin(), out.end(), [](const task_update& a, const task_update& b) { return a.event_id < b.event_id; });
  items_.clear();
  dropped_.clear();
  index_.clear();
  live_ = 0;
  open_ = false;
  return out;
}

}  // namespace dh::core
