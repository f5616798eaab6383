// rate_limiter.hpp — per-connection token bucket with escalation (SPEC §2 RATE_LIMITED/4029).
// A pure decision object: it takes `now` and never sleeps; one instance per session, one thread.
#pragma once

#include "core/clock.hpp"

#include <chrono>

namespace dh::core {

struct rate_limit_settings {
  double per_second = 10;  // refill rate and bucket size; 0 disables the limiter
  std::chrono::milliseconds block{1000};      // how long an offender is refused after a violation
  int max_strikes = 10;                       // excess messages tolerated before the connection closes
  std::chrono::milliseconds strike_memory{10'000};  // strikes are forgotten after this long without one
};

class rate_limiter {
 public:
  enum class verdict { allow, drop, close };
  struct decision {
    verdict what;
    std::chrono::milliseconds retry_after{0};  // for drop: when a message would next be allowed
  };

  rate_limiter(rate_limit_settings settings, steady_time now);

  decision on_message(steady_time now);

 private:
  void refill(steady_time now);
  decision strike(steady_time now, std::chrono::milliseconds retry_after);

  rate_limit_settings settings_;
  double tokens_;
  steady_time refilled_at_;
  steady_time blocked_until_{};
  steady_time last_strike_{};
  int strikes_ = 0;
};

}  // namespace dh::core
