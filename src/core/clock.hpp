// clock.hpp — where every time-dependent decision gets "now" from, and where the hub's deadlines
// wait, so tests can drive time. The decision objects (rate_limiter, liveness) take `now` instead.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace dh::core {

using steady_time = std::chrono::steady_clock::time_point;
using wall_time = std::chrono::system_clock::time_point;

// One pending call at a time on one executor. Arming it again replaces the pending call;
// destroying it drops the call. A call already due when it is replaced may still run, so the
// callback checks that what it was armed for still holds.
class timer {
 public:
  virtual ~timer() = default;
  // Calls `fn` through the timer's executor once the clock's steady time reaches `at`.
  virtual void call_at(steady_time at, std::function<void()> fn) = 0;
};

class clock {
 public:
  virtual ~clock() = default;
  virtual steady_time steady_now() const { return std::chrono::steady_clock::now(); }
  virtual wall_time wall_now() const { return std::chrono::system_clock::now(); }
  // An Asio steady_timer on `executor`; a test clock fires its timers when the test moves time.
  virtual std::unique_ptr<timer> make_timer(const boost::asio::any_io_executor& executor) const;
};

}  // namespace dh::core
