// memory_store.hpp — the store kept in memory only: the task model plus a bounded history per
// user. For tests and for running without a data directory; nothing survives a restart.
#pragma once

#include "core/store.hpp"
#include "core/task_model.hpp"

#include <deque>
#include <mutex>
#include <unordered_map>

namespace dh::core {

class memory_store final : public store {
 public:
  explicit memory_store(history_settings settings = {}) : settings_(settings) {}

  apply_result apply(const std::vector<protocol::task_event>& events, wall_time now) override;
  user_stats stats(const std::string& user) override;
  history_page history(const std::string& user, std::uint64_t after, std::size_t limit, wall_time now) override;

 private:
  std::mutex mutex_;  // tests call it from several threads; never held across a suspension
  history_settings settings_;
  task_model model_;
  std::unordered_map<std::string, std::deque<history_row>> history_;
};

// Whether history whose oldest retained id is `oldest` (0: none) covers every event after `after`
// up to `last`.
bool history_covers(std::uint64_t after, std::uint64_t oldest, std::uint64_t last) noexcept;

}  // namespace dh::core
