// clock.hpp — where every time-dependent decision gets "now" from, so tests can drive time.
// The decision objects (rate_limiter, liveness) take `now` as an argument instead.
#pragma once

#include <chrono>

namespace dh::core {

using steady_time = std::chrono::steady_clock::time_point;
using wall_time = std::chrono::system_clock::time_point;

class clock {
 public:
  virtual ~clock() = default;
  virtual steady_time steady_now() const { return std::chrono::steady_clock::now(); }
  virtual wall_time wall_now() const { return std::chrono::system_clock::now(); }
};

}  // namespace dh::core
