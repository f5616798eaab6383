#include "core/liveness.hpp"

#include <algorithm>

namespace dh::core {

namespace {
constexpr steady_time never = steady_time::max();
}

liveness::liveness(liveness_settings settings, steady_time now)
    : settings_(settings),
      last_heard_(now),
      next_ping_(settings.ping_interval.count() > 0 ? now + settings.ping_interval : never) {}

void liveness::heard_from_peer(steady_time now) noexcept {
  last_heard_ = now;
  awaiting_pong_ = false;
  missed_pongs_ = 0;
}

void liveness::on_client_message(steady_time now) noexcept { heard_from_peer(now); }
void liveness::on_pong(steady_time now) noexcept { heard_from_peer(now); }

steady_time liveness::next_deadline() const noexcept {
  const steady_time idle = settings_.idle_timeout.count() > 0 ? last_heard_ + settings_.idle_timeout : never;
  return std::min({token_deadline_, idle, next_ping_});
}

liveness::action liveness::poll(steady_time now) noexcept {
  if (now >= token_deadline_) return action::token_expired;
  if (settings_.idle_timeout.count() > 0 && now >= last_heard_ + settings_.idle_timeout) return action::idle_timeout;
  if (now < next_ping_) return action::none;
  if (awaiting_pong_ && ++missed_pongs_ >= settings_.max_missed_pongs) return action::unresponsive;
  awaiting_pong_ = true;
  next_ping_ = now + settings_.ping_interval;
  return action::send_ping;
}

}  // namespace dh::core
