// admission.hpp — a user's connection slots (SPEC §2: 5 per user). A session holds one from its
// admission until its end begins. In one process a count per user; across instances, leases.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace dh::core {

struct admission_settings {
  std::size_t max_per_user = 5;
  std::chrono::milliseconds wait{500};  // how long a connection at the limit waits for a release
};

class admission {
 public:
  virtual ~admission() = default;
  // Takes one of `user`'s slots for `session`; false when they stay taken. At the limit it may
  // wait briefly for a slot that is being released (a page reload: the old session's close is
  // still under way). Resumes the caller on its own executor. Safe from any thread.
  virtual boost::asio::awaitable<bool> acquire(std::string user, std::uint64_t session) = 0;
  // Gives `session`'s slot back. Safe from any thread; one not held is ignored.
  virtual void release(std::string user, std::uint64_t session) = 0;
  // `fn(user, session)` runs when a session's slot lapsed while it was open (across instances: a
  // lease not renewed in time), so updates for it may have gone astray: the session should
  // resume. An empty `fn` unregisters. Any thread. In one process a slot never lapses.
  virtual void on_lapsed(std::function<void(const std::string&, std::uint64_t)> fn) { (void)fn; }
};

}  // namespace dh::core
