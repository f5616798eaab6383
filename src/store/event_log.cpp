#include "store/event_log.hpp"

#include "core/store.hpp"

#include <boost/crc.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace dh::store {

namespace fs = std::filesystem;
using core::store_error;

namespace {

constexpr std::size_t header_bytes = 8;
constexpr std::uint32_t max_body_bytes = 1u << 30;

std::uint32_t crc_of(std::string_view body) {
  boost::crc_32_type crc;
  crc.process_bytes(body.data(), body.size());
  return crc.checksum();
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

std::string errno_text() { return std::strerror(errno); }

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw store_error(fmt::format("event log: cannot read {}", path.string()));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string segment_name(std::uint64_t first_seq) { return fmt::format("{:020}.log", first_seq); }

}  // namespace

event_log::event_log(fs::path dir, std::uintmax_t segment_bytes) : dir_(std::move(dir)), segment_bytes_(segment_bytes) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw store_error(fmt::format("event log: cannot create {}: {}", dir_.string(), ec.message()));
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() != ".log" || name.size() != 24) continue;
    std::uint64_t first = 0;
    try {
      first = std::stoull(name.substr(0, 20));
    } catch (const std::exception&) {
      continue;  // not one of ours
    }
    segments_.push_back({first, entry.path()});
  }
  if (ec) throw store_error(fmt::format("event log: cannot list {}: {}", dir_.string(), ec.message()));
  std::sort(segments_.begin(), segments_.end(), [](const auto& a, const auto& b) { return a.first_seq < b.first_seq; });
}

event_log::~event_log() {
  if (fd_ >= 0) ::close(fd_);
}

void event_log::replay(const std::function<void(std::string_view)>& record) const {
  for (const auto& s : segments_) {
    const auto bytes = read_whole(s.path);
    std::string_view rest(bytes);
    while (rest.size() >= header_bytes) {
      const auto size = get_u32(rest.data());
      if (size > max_body_bytes || rest.size() - header_bytes < size) break;  // torn tail
      const auto body = rest.substr(header_bytes, size);
      if (crc_of(body) != get_u32(rest.data() + 4)) break;  // torn or corrupt: never acknowledged
      record(body);
      rest.remove_prefix(header_bytes + size);
    }
  }
}

void event_log::sync_replayed() const {
  for (const auto& s : segments_) {
    const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw store_error(fmt::format("event log: cannot open {}: {}", s.path.string(), errno_text()));
    const int rc = ::fdatasync(fd);
    const auto error = errno_text();
    ::close(fd);
    if (rc != 0) throw store_error(fmt::format("event log: fdatasync {}: {}", s.path.string(), error));
  }
}

void event_log::start(std::uint64_t next_seq) { roll(next_seq); }

void event_log::roll(std::uint64_t first_seq) {
  const auto path = dir_ / segment_name(first_seq);
  // O_TRUNC: a segment of this name can only hold records that were never acknowledged (a
  // start-up that crashed before its first append, or a torn first record).
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw store_error(fmt::format("event log: cannot create {}: {}", path.string(), errno_text()));
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  size_ = 0;
  std::erase_if(segments_, [&](const segment& s) { return s.first_seq >= first_seq; });
  segments_.push_back({first_seq, path});
  try {
    sync_dir();  // the new file's name must survive a power loss as well as its records
  } catch (...) {
    // Appends to a file whose name may vanish must never be acknowledged.
    broken_.store(true, std::memory_order_release);
    throw;
  }
}

void event_log::sync_dir() const {
  const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw store_error(fmt::format("event log: cannot open {}: {}", dir_.string(), errno_text()));
  const int rc = ::fsync(fd);
  const auto error = errno_text();
  ::close(fd);
  if (rc != 0) throw store_error(fmt::format("event log: fsync {}: {}", dir_.string(), error));
}

void event_log::append(std::uint64_t seq, std::string_view body) {
  if (broken_) throw store_error("event log: an earlier append could not be undone; restart to recover");
  if (fd_ < 0) throw store_error("event log: append before start");
  if (body.size() > max_body_bytes) throw store_error("event log: record too large");
  if (size_ >= segment_bytes_) roll(seq);
  frame_.clear();
  put_u32(frame_, static_cast<std::uint32_t>(body.size()));
  put_u32(frame_, crc_of(body));
  frame_.append(body);

  std::string failure;
  std::size_t written = 0;
  while (written < frame_.size()) {
    const auto n = ::write(fd_, frame_.data() + written, frame_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failure = fmt::format("write: {}", errno_text());
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (failure.empty() && ::fdatasync(fd_) != 0) failure = fmt::format("fdatasync: {}", errno_text());
  if (failure.empty()) {
    size_ += frame_.size();
    return;
  }
  // Cut the file back so a later record never follows a half-written one. After a failed
  // fdatasync the page cache may not match the disk any more: only a restart can tell.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0 || failure.starts_with("fdatasync"))
    broken_.store(true, std::memory_order_release);
  throw store_error(fmt::format("event log: {} ({})", failure, segments_.back().path.string()));
}

void event_log::drop_through(std::uint64_t seq) {
  // Segment i holds records [first_i, first_{i+1}); the newest segment is never dropped.
  while (segments_.size() > 1 && segments_[1].first_seq <= seq + 1) {
    std::error_code ec;
    fs::remove(segments_.front().path, ec);
    if (ec) throw store_error(fmt::format("event log: cannot remove {}: {}", segments_.front().path.string(), ec.message()));
    segments_.erase(segments_.begin());
  }
}

}  // namespace dh::store
