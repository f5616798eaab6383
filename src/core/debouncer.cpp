#include "core/debouncer.hpp"

namespace dh::core {

debouncer::decision debouncer::send(const protocol::dashboard_stats& stats, steady_time now) {
  last_sent_ = stats;
  last_sent_at_ = now;
  pending_.reset();
  return {stats, std::nullopt};
}

debouncer::decision debouncer::on_stats(const protocol::dashboard_stats& stats, steady_time now) {
  if (last_sent_ && same(stats, *last_sent_)) {
    pending_.reset();  // back to what the clients already show
    return {};
  }
  if (!last_sent_ || now - last_sent_at_ >= interval_) {
    if (!timer_armed_) return send(stats, now);
  }
  pending_ = stats;
  if (timer_armed_) return {};
  timer_armed_ = true;
  return {std::nullopt, last_sent_at_ + interval_};
}

debouncer::decision debouncer::on_timer(steady_time now) {
  timer_armed_ = false;
  if (!pending_) return {};
  if (now - last_sent_at_ < interval_) {  // woke early: wait for the rest of the interval
    timer_armed_ = true;
    return {std::nullopt, last_sent_at_ + interval_};
  }
  return send(*pending_, now);
}

}  // namespace dh::core
