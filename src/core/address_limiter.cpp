#include "core/address_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace dh::core {

double address_limiter::capacity() const noexcept {
  return std::max(1.0, settings_.burst > 0 ? settings_.burst : 2 * settings_.per_second);
}

double address_limiter::tokens_at(const bucket& b, steady_time now) const noexcept {
  const double elapsed = std::chrono::duration<double>(now - b.refilled_at).count();
  return std::min(capacity(), b.tokens + std::max(0.0, elapsed) * settings_.per_second);
}

address_limiter::verdict address_limiter::on_connection(std::string_view address, steady_time now) {
  if (!enabled()) return {};
  const std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(address));
  if (it == buckets_.end()) {
    if (buckets_.size() >= settings_.max_tracked) forget_refilled(now);
    it = buckets_.emplace(std::string(address), bucket{capacity(), now}).first;
  }
  auto& b = it->second;
  b.tokens = tokens_at(b, now);
  b.refilled_at = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  const double wait_seconds = (1.0 - b.tokens) / settings_.per_second;
  return {false, std::chrono::milliseconds(static_cast<long long>(std::ceil(wait_seconds * 1000)))};
}

void address_limiter::forget_refilled(steady_time now) {
  // An address whose bucket would be full again is no different from one never seen.
  std::erase_if(buckets_, [&](const auto& entry) { return tokens_at(entry.second, now) >= capacity(); });
  // Still full of busy addresses: forget them all rather than grow without bound. Each starts
  // again with a full bucket, which at worst lets one burst more through.
  if (buckets_.size() >= settings_.max_tracked) buckets_.clear();
}

std::size_t address_limiter::tracked() const {
  const std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace dh::core
