// event_log.hpp — the durable record of the embedded store: numbered groups of events appended
// to segment files and fdatasync'd, replayed after a restart until SQLite holds them. One thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dh::store {

// A record is [body length u32][CRC-32 of body u32][body]; a segment is named after the sequence
// number of its first record. A torn or corrupt record ends its segment's replay: it was never
// acknowledged, because an append counts only once its fdatasync returned.
class event_log {
 public:
  static constexpr std::uintmax_t default_segment_bytes = 64 << 20;

  // Opens (creating) `dir`; appends go to a new segment starting at `next_seq`, started by start().
  explicit event_log(std::filesystem::path dir, std::uintmax_t segment_bytes = default_segment_bytes);
  ~event_log();
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  // Calls `record(body)` for every intact record of every segment, oldest first.
  void replay(const std::function<void(std::string_view body)>& record) const;
  // Makes what replay() read durable: a record read back after a crash may have been only in the
  // page cache (written, its fdatasync never returned), and what is built on it must not outlive it.
  void sync_replayed() const;
  // Starts the segment that takes appends from sequence `next_seq` on.
  void start(std::uint64_t next_seq);
  // Appends one record and makes it durable. Throws core::store_error; then the record is not in
  // the log (the file is cut back), or, if even that failed, the log refuses every later append.
  void append(std::uint64_t seq, std::string_view body);
  // Deletes the segments whose every record is at most `seq` (held elsewhere, durably, now).
  void drop_through(std::uint64_t seq);

  std::size_t segment_count() const noexcept { return segments_.size(); }
  // True once an append could not be undone: every later append fails. Any thread.
  bool broken() const noexcept { return broken_.load(std::memory_order_acquire); }

 private:
  struct segment {
    std::uint64_t first_seq;
    std::filesystem::path path;
  };
  void roll(std::uint64_t first_seq);
  void sync_dir() const;

  std::filesystem::path dir_;
  std::uintmax_t segment_bytes_;
  std::vector<segment> segments_;  // by first_seq; the last one takes appends once started
  int fd_ = -1;
  std::uintmax_t size_ = 0;
  std::atomic<bool> broken_{false};
  std::string frame_;  // reused between appends
};

}  // namespace dh::store
