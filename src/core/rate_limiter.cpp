#include "core/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace dh::core {

using std::chrono::duration;
using std::chrono::milliseconds;

namespace {
// A bucket must hold at least one whole message, or a rate below 1/s would refuse everything.
double capacity_of(const rate_limit_settings& s) { return std::max(1.0, s.per_second); }
}  // namespace

rate_limiter::rate_limiter(rate_limit_settings settings, steady_time now)
    : settings_(settings), tokens_(capacity_of(settings)), refilled_at_(now) {}

void rate_limiter::refill(steady_time now) {
  const double elapsed = duration<double>(now - refilled_at_).count();
  tokens_ = std::min(capacity_of(settings_), tokens_ + elapsed * settings_.per_second);
  refilled_at_ = now;
}

rate_limiter::decision rate_limiter::strike(steady_time now, milliseconds retry_after) {
  if (strikes_ > 0 && now - last_strike_ > settings_.strike_memory) strikes_ = 0;
  ++strikes_;
  last_strike_ = now;
  if (strikes_ >= settings_.max_strikes) return {verdict::close, retry_after};
  return {verdict::drop, std::max(retry_after, milliseconds{1})};
}

rate_limiter::decision rate_limiter::on_message(steady_time now) {
  if (settings_.per_second <= 0) return {verdict::allow};
  refill(now);
  if (now < blocked_until_)
    return strike(now, std::chrono::ceil<milliseconds>(blocked_until_ - now));
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return {verdict::allow};
  }
  // Empty bucket: refuse for the block period so a flooder cannot hover at the limit.
  blocked_until_ = now + settings_.block;
  return strike(now, settings_.block);
}

}  // namespace dh::core
