#include "core/task_model.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <deque>

namespace dh::core {

using protocol::task_action;

namespace {

// A batch's working copy: rows it changed, looked up before the committed model.
struct overlay {
  std::function<const task_row*(const std::string&)> base_task;
  const std::unordered_map<std::string, user_stats>& base_users;
  std::unordered_map<std::string, task_row> tasks;
  std::unordered_map<std::string, user_stats> users;
  std::vector<std::string> task_order, user_order;

  const task_row* task(const std::string& key) const {
    if (auto it = tasks.find(key); it != tasks.end()) return &it->second;
    return base_task(key);
  }
  void put(const std::string& key, task_row row) {
    if (tasks.insert_or_assign(key, std::move(row)).second) task_order.push_back(key);
  }
  user_stats& user(const std::string& id) {
    auto it = users.find(id);
    if (it != users.end()) return it->second;
    user_order.push_back(id);
    const auto base = base_users.find(id);
    return users.emplace(id, base == base_users.end() ? user_stats{} : base->second).first->second;
  }
};

std::vector<std::string> audience_of(const protocol::task_event& e, const task_row* old) {
  std::vector<std::string> audience;
  if (e.sets_audience || old == nullptr || old->deleted) {
    audience = e.shared_with;
  } else {
    audience = old->audience;  // an update without sharedWith keeps who else sees the task
    std::erase(audience, old->owner);
  }
  audience.push_back(e.owner);
  std::sort(audience.begin(), audience.end());
  audience.erase(std::unique(audience.begin(), audience.end()), audience.end());
  return audience;
}

bool contains(const std::vector<std::string>& sorted, const std::string& user) {
  return std::binary_search(sorted.begin(), sorted.end(), user);
}

}  // namespace

task_model::task_model(std::size_t cache_rows, row_source source)
    : cache_rows_(cache_rows), source_(std::move(source)) {}

change_set task_model::plan(const std::vector<protocol::task_event>& events, wall_time now) const {
  change_set out;
  // Rows read from the source during this plan, by key; a deque keeps their addresses.
  std::unordered_map<std::string, const std::optional<task_row>*> fetched;
  std::deque<std::optional<task_row>> fetched_rows;
  const auto base_task = [&](const std::string& key) -> const task_row* {
    if (auto it = tasks_.find(key); it != tasks_.end()) return &it->second.row;
    if (!bounded()) return nullptr;
    auto [it, fresh] = fetched.try_emplace(key, nullptr);
    if (fresh) it->second = &fetched_rows.emplace_back(source_(key));
    return *it->second ? &**it->second : nullptr;
  };
  overlay o{base_task, users_, {}, {}, {}, {}};
  out.result.events.reserve(events.size());
  for (const auto& e : events) {
    applied_event applied;
    applied.task_key = e.task_key;
    applied.task_id = e.task_id;
    const task_row* old = o.task(e.task_key);
    // Whole milliseconds, as SQLite keeps them: a row read back after eviction or a restart must
    // decide exactly as the cached one did (an event without updatedAt carries the server's
    // clock, which has finer ticks).
    const wall_time updated_at = std::chrono::floor<std::chrono::milliseconds>(e.updated_at);
    if (old != nullptr && updated_at < old->updated_at) {
      out.result.events.push_back(std::move(applied));  // stale: last writer wins
      continue;
    }
    applied.applied = true;
    const bool was_visible = old != nullptr && !old->deleted;
    task_row row;
    row.owner = e.owner;
    row.updated_at = updated_at;
    row.deleted = e.action == task_action::deleted;
    row.completed = !row.deleted && e.completed;
    row.task_json = std::make_shared<const std::string>(protocol::task_json_of(e));
    if (!row.deleted) row.audience = audience_of(e, old);
    row.task_id_json = protocol::task_id_json_of(e);
    applied.task_id_json = row.task_id_json;
    applied.task_json = row.task_json;

    // Everyone who saw it before or sees it now hears about it, each with their own view.
    std::vector<std::string> reached = was_visible ? old->audience : std::vector<std::string>{};
    if (row.deleted && !was_visible) reached = audience_of(e, nullptr);
    reached.insert(reached.end(), row.audience.begin(), row.audience.end());
    std::sort(reached.begin(), reached.end());
    reached.erase(std::unique(reached.begin(), reached.end()), reached.end());

    for (const auto& user : reached) {
      const bool before = was_visible && contains(old->audience, user);
      const bool after = contains(row.audience, user);
      auto& stats = o.user(user);
      stats.total += static_cast<int>(after) - static_cast<int>(before);
      stats.completed += static_cast<int>(after && row.completed) - static_cast<int>(before && old->completed);
      stats.updated_at = now;
      const task_action seen = !after ? task_action::deleted : before ? task_action::updated : task_action::created;
      const auto event_id = ++stats.last_event_id;
      applied.audience.push_back({user, event_id, seen});
      out.history.push_back(
          {user, event_id, now, protocol::encode_task_update_payload(seen, applied.task_id_json, *row.task_json)});
    }
    o.put(e.task_key, std::move(row));
    out.result.events.push_back(std::move(applied));
  }
  for (const auto& key : o.task_order) out.tasks.emplace_back(key, o.tasks.at(key));
  for (const auto& user : o.user_order) {
    out.users.emplace_back(user, o.users.at(user));
    out.result.stats.emplace_back(user, o.users.at(user));
  }
  for (const auto& [key, row] : fetched) out.fetched.emplace_back(key, *row);
  return out;
}

void task_model::commit(change_set& changes, std::uint64_t seq) {
  for (auto& [key, row] : changes.fetched)
    if (row && !tasks_.contains(key)) put(key, std::move(*row), 0);
  for (const auto& [key, row] : changes.tasks) put(key, row, seq);
  for (auto& [user, stats] : changes.users) users_.insert_or_assign(user, stats);
  evict();
}

void task_model::put(const std::string& key, task_row row, std::uint64_t seq) {
  if (!bounded()) {
    tasks_.insert_or_assign(key, cached{std::move(row), 0, {}});
    return;
  }
  // The rules never read a stored task's JSON again: the cache keeps only what they decide on.
  row.task_json.reset();
  row.task_id_json.clear();
  auto [it, fresh] = tasks_.try_emplace(key);
  auto& entry = it->second;
  if (!fresh && entry.dirty_seq == 0) lru_.erase(entry.lru);
  entry.row = std::move(row);
  entry.dirty_seq = seq;
  if (seq == 0) {
    entry.lru = lru_.insert(lru_.begin(), &it->first);
  } else {
    dirty_.emplace_back(seq, key);
  }
}

void task_model::settled(std::uint64_t seq) {
  while (!dirty_.empty() && dirty_.front().first <= seq) {
    const auto it = tasks_.find(dirty_.front().second);
    // A row changed again by a later commit stays pinned for that one.
    if (it != tasks_.end() && it->second.dirty_seq == dirty_.front().first) {
      it->second.dirty_seq = 0;
      it->second.lru = lru_.insert(lru_.begin(), &it->first);
    }
    dirty_.pop_front();
  }
  evict();
}

void task_model::evict() {
  if (!bounded()) return;
  while (tasks_.size() > cache_rows_ && !lru_.empty()) {
    tasks_.erase(*lru_.back());
    lru_.pop_back();
  }
}

user_stats task_model::stats(const std::string& user) const {
  auto it = users_.find(user);
  return it == users_.end() ? user_stats{} : it->second;
}

const task_row* task_model::find(const std::string& key) const {
  auto it = tasks_.find(key);
  return it == tasks_.end() ? nullptr : &it->second.row;
}

}  // namespace dh::core
