// manual_clock.hpp — a clock whose time moves only when a test says so: its timers fire in
// advance(), posted to their executors in deadline order. Thread-safe, so a server on its own
// threads can use it while the test thread moves time. Test-only.
#pragma once

#include "core/clock.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace dh::test {

class manual_clock final : public core::clock {
 public:
  manual_clock();

  core::steady_time steady_now() const override;
  core::wall_time wall_now() const override;
  std::unique_ptr<core::timer> make_timer(const boost::asio::any_io_executor& executor) const override;

  // Moves both clocks on by `by`, then posts the call of every timer that came due, earliest first.
  void advance(std::chrono::nanoseconds by);
  // Timers armed and not yet due: what advance() could still fire.
  std::size_t armed() const;

 private:
  struct slot;
  class manual_timer;

  // Posts `call` to the slot's executor; it runs unless the slot is re-armed or destroyed first.
  void post(const std::shared_ptr<slot>& from, std::uint64_t generation, std::function<void()> call) const;

  mutable std::mutex mutex_;  // guards everything below and every slot
  core::steady_time steady_;
  core::wall_time wall_;
  mutable std::vector<std::weak_ptr<slot>> slots_;
};

}  // namespace dh::test
