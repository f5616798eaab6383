// bus.hpp — carries committed batches from the writer to the hub: every batch once, in commit
// order. In one process a direct hand-off (local_bus); across instances a shared stream.
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

  virtual ~bus() = default;
  // The writer's side: called once per committed transaction, in commit order, never
  // concurrently with itself (the store executor is one thread).
  virtual void publish(batch committed) = 0;
  // The reader's side (the hub): set once, before the first publish; called with every batch
  // published from then on, in order, on whatever thread publishes (it must not block).
  virtual void subscribe(subscriber s) = 0;
};

// One process: a publish is handed straight to the subscriber, so the hub sees batches in the
// order the store committed them.
class local_bus final : public bus {
 public:
  void publish(batch committed) override {
    if (subscriber_) subscriber_(std::move(committed));
  }
  void subscribe(subscriber s) override {
    if (subscriber_) throw std::logic_error("local_bus has one subscriber");
    subscriber_ = std::move(s);
  }

 private:
  subscriber subscriber_;
};

}  // namespace dh::core
