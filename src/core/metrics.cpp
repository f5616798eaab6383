#include "core/metrics.hpp"

#include <algorithm>

namespace dh::core {

namespace {

std::vector<double> seconds(std::initializer_list<double> ms) {
  std::vector<double> out;
  for (const double m : ms) out.push_back(m / 1000.0);
  return out;
}

template <class Array, class Value>
std::size_t index_or_other(const Array& known, Value v) {
  return static_cast<std::size_t>(std::find(known.begin(), known.end(), v) - known.begin());
}

}  // namespace

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void histogram::observe(std::chrono::nanoseconds d) noexcept {
  const auto ns = std::max<std::int64_t>(d.count(), 0);
  const double s = static_cast<double>(ns) / 1e9;
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), s) - bounds_.begin();
  buckets_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
  snapshot out;
  out.upper_bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.cumulative.push_back(running);
  }
  out.count = running + buckets_[bounds_.size()].load(std::memory_order_relaxed);
  out.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return out;
}

metrics::metrics()
    : delivery_latency(seconds({0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500, 5000})),
      handshake_time(seconds({0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500})),
      store_commit_time(seconds({0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000})) {}

void metrics::error_sent(protocol::errc code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  if (i < errors.size()) errors[i].add();
  if (code == protocol::errc::slow_consumer) slow_consumer_drops.add();
}

void metrics::closed(std::uint16_t code) noexcept { closes[index_or_other(known_close_codes, code)].add(); }

void metrics::ingest_answered(unsigned status) noexcept { ingest[index_or_other(known_ingest_statuses, status)].add(); }

}  // namespace dh::core
