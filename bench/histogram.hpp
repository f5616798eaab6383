// histogram.hpp — a log-linear latency histogram (64 sub-buckets per power of two, about 1.6%
// relative precision) for microsecond values: constant memory, no allocation per sample.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace dh::bench {

class histogram {
 public:
  void record(std::uint64_t us) noexcept {
    ++counts_[index_of(us)];
    ++total_;
    if (us > max_) max_ = us;
  }
  void merge(const histogram& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    if (other.max_ > max_) max_ = other.max_;
  }
  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t max() const noexcept { return max_; }
  // The smallest recorded bucket value with at least `p` (0..1) of the samples at or below it.
  std::uint64_t percentile(double p) const noexcept {
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(p * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return value_of(i);
    }
    return max_;
  }

 private:
  static constexpr int sub_bits = 6;
  static constexpr std::uint64_t sub_count = 1u << sub_bits;

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < sub_count) return static_cast<std::size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - sub_bits;
    return static_cast<std::size_t>((shift + 1) * sub_count + ((v >> shift) - sub_count));
  }
  static std::uint64_t value_of(std::size_t i) noexcept {
    if (i < sub_count) return i;
    const auto shift = static_cast<int>(i / sub_count) - 1;
    return ((i % sub_count) + sub_count) << shift;
  }

  std::array<std::uint64_t, sub_count * 60> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace dh::bench
