// address_limiter.hpp — new connections per client address: one token bucket per address, so a
// single host cannot take every handshake and descriptor. Thread-safe; takes `now`, never sleeps.
#pragma once

#include "core/clock.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dh::core {

struct address_limit_settings {
  double per_second = 0;  // sustained new connections per address; 0 disables the limit
  double burst = 0;       // connections an address may open at once; 0: twice per_second (at least 1)
  // Addresses remembered at most; beyond it, those whose bucket has refilled are forgotten first.
  std::size_t max_tracked = 100'000;
};

class address_limiter {
 public:
  struct verdict {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};  // when refused: when the next connection would pass
  };

  explicit address_limiter(address_limit_settings settings) : settings_(settings) {}

  bool enabled() const noexcept { return settings_.per_second > 0; }
  // Takes one token of `address`'s bucket, or says when one will be there.
  verdict on_connection(std::string_view address, steady_time now);
  std::size_t tracked() const;

 private:
  struct bucket {
    double tokens;
    steady_time refilled_at;
  };
  double capacity() const noexcept;
  // What `b` holds at `now`, counting what has dripped in since it was last refilled.
  double tokens_at(const bucket& b, steady_time now) const noexcept;
  void forget_refilled(steady_time now);

  address_limit_settings settings_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace dh::core
