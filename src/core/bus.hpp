// bus.hpp — carries committed batches from the writer to the hub: every batch once, in commit
// order. In one process a direct hand-off (local_bus); across instances a shared stream that a
// reader resumes from the last position it saw after losing it (store/redis_bus).
#pragma once

#include "core/store.hpp"

#include <functional>
#include <memory>
#include <stdexcept>

namespace dh::core {

class bus {
 public:
  using batch = std::shared_ptr<const apply_result>;
  using subscriber = std::function<void(batch)>;
  // false: the bus is lost and batches may be late; true: it is back, and what was committed
  // meanwhile follows. Never called by a bus that cannot be lost.
  using link_fn = std::function<void(bool up)>;

  virtual ~bus() = default;
  // The reader's side (the hub): set once, before the first batch; `s` is called with every batch
  // committed from then on, in order, on the bus's own thread (it must not block).
  virtual void subscribe(subscriber s, link_fn on_link) = 0;
};

// One process: a publish is handed straight to the subscriber, so the hub sees batches in the
// order the store committed them.
class local_bus final : public bus {
 public:
  // The writer's side: called once per committed transaction, in commit order, never
  // concurrently with itself (the store executor is one thread).
  void publish(batch committed) {
    if (subscriber_) subscriber_(std::move(committed));
  }
  void subscribe(subscriber s, link_fn) override {
    if (subscriber_) throw std::logic_error("local_bus has one subscriber");
    subscriber_ = std::move(s);
  }

 private:
  subscriber subscriber_;
};

}  // namespace dh::core
