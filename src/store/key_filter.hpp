// key_filter.hpp — a fixed-size Bloom filter of the task keys the embedded store holds: a key it
// has never seen is answered "not stored" without a SQLite lookup, which is most keys when
// producers create tasks. Never a false "not stored"; a false "maybe" costs one lookup.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace dh::store {

class key_filter {
 public:
  // 2^`log2_bits` bits (default 4 MiB): about 0.1 % false "maybe" at a million keys, 20 % at ten
  // million; memory stays the same whatever is stored.
  explicit key_filter(unsigned log2_bits = 25);

  void add(std::string_view key) noexcept;
  bool may_contain(std::string_view key) const noexcept;

 private:
  static constexpr int probes = 3;
  std::uint64_t mask_;
  std::vector<std::uint64_t> words_;
};

}  // namespace dh::store
