// debouncer.hpp — the per-user dashboard_update gate: at most one per interval, the leading edge
// at once, the trailing edge with the latest stats, unchanged stats never resent. Pure: the
// caller passes `now` and arms a timer for `wake_at`.
#pragma once

#include "core/clock.hpp"
#include "protocol/messages.hpp"

#include <chrono>
#include <optional>

namespace dh::core {

class debouncer {
 public:
  struct decision {
    std::optional<protocol::dashboard_stats> send;  // send these now
    std::optional<steady_time> wake_at;             // arm the trailing-edge timer for this moment
  };

  explicit debouncer(std::chrono::steady_clock::duration interval = std::chrono::seconds(1)) : interval_(interval) {}

  decision on_stats(const protocol::dashboard_stats& stats, steady_time now);
  decision on_timer(steady_time now);

 private:
  static bool same(const protocol::dashboard_stats& a, const protocol::dashboard_stats& b) noexcept {
    return a.total_tasks == b.total_tasks && a.completed_tasks == b.completed_tasks;
  }
  decision send(const protocol::dashboard_stats& stats, steady_time now);

  std::chrono::steady_clock::duration interval_;
  std::optional<protocol::dashboard_stats> last_sent_;
  steady_time last_sent_at_{};
  std::optional<protocol::dashboard_stats> pending_;
  bool timer_armed_ = false;
};

}  // namespace dh::core
