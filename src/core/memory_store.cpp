#include "core/memory_store.hpp"

namespace dh::core {

bool history_covers(std::uint64_t after, std::uint64_t oldest, std::uint64_t last) noexcept {
  if (after == last) return true;  // nothing missed
  if (after > last) return false;  // an id this history never issued (wiped or in-memory store): refetch
  return oldest != 0 && oldest <= after + 1;
}

apply_result memory_store::apply(const std::vector<protocol::task_event>& events, wall_time now) {
  std::lock_guard lock(mutex_);
  auto changes = model_.plan(events, now);
  model_.commit(changes);
  for (auto& row : changes.history) {
    auto& log = history_[row.user];
    log.push_back(std::move(row));
    while (log.size() > settings_.max_events) log.pop_front();
  }
  return std::move(changes.result);
}

user_stats memory_store::stats(const std::string& user) {
  std::lock_guard lock(mutex_);
  return model_.stats(user);
}

history_page memory_store::history(const std::string& user, std::uint64_t after, std::size_t limit, wall_time now) {
  std::lock_guard lock(mutex_);
  history_page page;
  page.last_event_id = model_.stats(user).last_event_id;
  auto it = history_.find(user);
  if (it == history_.end()) {
    page.complete = history_covers(after, 0, page.last_event_id);
    return page;
  }
  auto& log = it->second;
  while (!log.empty() && log.front().at < now - settings_.max_age) log.pop_front();
  page.complete = history_covers(after, log.empty() ? 0 : log.front().event_id, page.last_event_id);
  for (const auto& row : log) {
    if (row.event_id <= after) continue;
    if (page.entries.size() >= limit) break;
    page.entries.push_back({row.event_id, row.payload});
  }
  return page;
}

}  // namespace dh::core
