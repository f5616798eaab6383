#include "store/key_filter.hpp"

#include <functional>

namespace dh::store {

namespace {

// Double hashing: the probes are h1 + i * h2 of one 64-bit hash, h2 forced odd.
struct probe_hashes {
  std::uint64_t h1, h2;
  explicit probe_hashes(std::string_view key) noexcept {
    const std::uint64_t h = std::hash<std::string_view>{}(key);
    h1 = h;
    h2 = ((h >> 32) | (h << 32)) * 0x9e3779b97f4a7c15ULL | 1;
  }
  std::uint64_t bit(int i, std::uint64_t mask) const noexcept { return (h1 + static_cast<std::uint64_t>(i) * h2) & mask; }
};

}  // namespace

key_filter::key_filter(unsigned log2_bits)
    : mask_((std::uint64_t{1} << log2_bits) - 1), words_((std::size_t{1} << log2_bits) / 64 + 1, 0) {}

void key_filter::add(std::string_view key) noexcept {
  const probe_hashes p(key);
  for (int i = 0; i < probes; ++i) {
    const auto b = p.bit(i, mask_);
    words_[b / 64] |= std::uint64_t{1} << (b % 64);
  }
}

bool key_filter::may_contain(std::string_view key) const noexcept {
  const probe_hashes p(key);
  for (int i = 0; i < probes; ++i) {
    const auto b = p.bit(i, mask_);
    if ((words_[b / 64] & (std::uint64_t{1} << (b % 64))) == 0) return false;
  }
  return true;
}

}  // namespace dh::store
