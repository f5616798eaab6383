// redis_epoch.hpp — what this instance has seen of the store's epoch (redis_schema.hpp): the most
// batches Redis had applied, and the current epoch. Written by the bus and the event store.
#pragma once

#include "store/redis_schema.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace dh::store {

// Any thread. Figures only grow: a Redis that reports fewer batches than seen here lost some.
class redis_epoch_watch {
 public:
  void saw(const redis_schema::batch_epoch& e) noexcept {
    raise(writes_, e.writes);
    raise(base_, e.base);
  }
  void entered(std::uint64_t number, std::uint64_t base) noexcept {
    raise(number_, number);
    raise(base_, base);
  }
  std::uint64_t writes_seen() const noexcept { return writes_.load(std::memory_order_acquire); }
  std::uint64_t base() const noexcept { return base_.load(std::memory_order_acquire); }
  std::uint64_t number() const noexcept { return number_.load(std::memory_order_acquire); }

 private:
  static void raise(std::atomic<std::uint64_t>& figure, std::uint64_t seen) noexcept {
    auto current = figure.load(std::memory_order_relaxed);
    while (seen > current && !figure.compare_exchange_weak(current, seen, std::memory_order_acq_rel)) {
    }
  }

  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> base_{0};
  std::atomic<std::uint64_t> number_{0};
};

// A batch record decoded (redis_schema::decode_batch), its epoch figures noted in `watch`.
inline core::apply_result decode_watched(std::string_view record, redis_epoch_watch& watch,
                                         redis_schema::record_kind kind = redis_schema::record_kind::batch) {
  redis_schema::batch_epoch applied_in;
  auto batch = redis_schema::decode_batch(record, &applied_in, kind);
  watch.saw(applied_in);
  return batch;
}

}  // namespace dh::store
