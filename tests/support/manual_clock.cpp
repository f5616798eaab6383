#include "support/manual_clock.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

namespace dh::test {

struct manual_clock::slot {
  boost::asio::any_io_executor executor;
  std::optional<core::steady_time> due;
  std::function<void()> call;
  std::uint64_t generation = 0;  // bumped by every re-arm and by destruction: a posted call of an older one is dropped
};

class manual_clock::manual_timer final : public core::timer {
 public:
  manual_timer(const manual_clock& clock, std::shared_ptr<slot> s) : clock_(clock), slot_(std::move(s)) {}
  ~manual_timer() override {
    std::lock_guard lock(clock_.mutex_);
    ++slot_->generation;
    slot_->due.reset();
    slot_->call = nullptr;
  }
  manual_timer(const manual_timer&) = delete;
  manual_timer& operator=(const manual_timer&) = delete;

  void call_at(core::steady_time at, std::function<void()> fn) override {
    std::lock_guard lock(clock_.mutex_);
    ++slot_->generation;
    if (at <= clock_.steady_) {  // already due: it runs at once, as a real timer's would
      slot_->due.reset();
      slot_->call = nullptr;
      clock_.post(slot_, slot_->generation, std::move(fn));  // mutex_ held: reads the generation
      return;
    }
    slot_->due = at;
    slot_->call = std::move(fn);
  }

 private:
  const manual_clock& clock_;
  std::shared_ptr<slot> slot_;
};

// Away from the epochs, so that `now - something` never underflows in the code under test.
manual_clock::manual_clock()
    : steady_(core::steady_time{} + std::chrono::hours(24)), wall_(std::chrono::system_clock::now()) {}

core::steady_time manual_clock::steady_now() const {
  std::lock_guard lock(mutex_);
  return steady_;
}

core::wall_time manual_clock::wall_now() const {
  std::lock_guard lock(mutex_);
  return wall_;
}

std::unique_ptr<core::timer> manual_clock::make_timer(const boost::asio::any_io_executor& executor) const {
  auto s = std::make_shared<slot>();
  s->executor = executor;
  std::lock_guard lock(mutex_);
  std::erase_if(slots_, [](const std::weak_ptr<slot>& w) { return w.expired(); });
  slots_.push_back(s);
  return std::make_unique<manual_timer>(*this, std::move(s));
}

void manual_clock::advance(std::chrono::nanoseconds by) {
  struct due_call {
    core::steady_time at;
    std::shared_ptr<slot> from;
    std::uint64_t generation;
    std::function<void()> call;
  };
  std::vector<due_call> due;
  {
    std::lock_guard lock(mutex_);
    steady_ += by;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
    for (const auto& w : slots_) {
      auto s = w.lock();
      if (!s || !s->due || *s->due > steady_) continue;
      due.push_back({*s->due, s, s->generation, std::move(s->call)});
      s->due.reset();
      s->call = nullptr;
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const due_call& a, const due_call& b) { return a.at < b.at; });
  for (auto& d : due) post(d.from, d.generation, std::move(d.call));
}

void manual_clock::post(const std::shared_ptr<slot>& from, std::uint64_t generation, std::function<void()> call) const {
  boost::asio::post(from->executor, [this, from, generation, call = std::move(call)] {
    {
      std::lock_guard lock(mutex_);
      if (from->generation != generation) return;  // re-armed or destroyed since it came due
    }
    call();
  });
}

std::size_t manual_clock::armed() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(), [](const std::weak_ptr<slot>& w) {
    auto s = w.lock();
    return s && s->due.has_value();
  }));
}

}  // namespace dh::test
