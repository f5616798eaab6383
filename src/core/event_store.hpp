// event_store.hpp — the record as the gateway's users see it: apply a batch of task events, read a
// user's statistics and history. Awaitable; each implementation keeps its own threads or
// connections, so no caller ever blocks (in process: SQLite on a thread; across instances: Redis).
#pragma once

#include "core/clock.hpp"
#include "core/store.hpp"
#include "protocol/task_event.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dh::core {

// Ordering: a batch is durable, then published on the bus (core/bus.hpp), then its apply()
// completes; batches reach the bus in the order they were committed, each once. stats() and
// history() see every batch whose apply() has completed. Every call resumes the caller on its
// own executor and may be made from any thread.
class event_store {
 public:
  virtual ~event_store() = default;
  // All or nothing: resumes with this batch's own events (with each audience user's new id), or
  // throws store_error and nothing of the batch was applied. The tasks and statistics are the
  // bus's to deliver: a backend may leave task_json empty and stats out here.
  virtual boost::asio::awaitable<std::shared_ptr<const apply_result>> apply(std::vector<protocol::task_event> events,
                                                                            wall_time now) = 0;
  virtual boost::asio::awaitable<user_stats> stats(std::string user) = 0;
  // Events after `after` (at most `limit`; 0: none, only `complete` and `last_event_id`).
  virtual boost::asio::awaitable<history_page> history(std::string user, std::uint64_t after, std::size_t limit,
                                                       wall_time now) = 0;
  // Whether calls can succeed now: false while a remote store is unreachable (then they throw
  // store_unavailable). For /ready; any thread.
  virtual bool available() const noexcept { return true; }
  // For /status; any thread.
  virtual store_report report() const = 0;
  // `fn` runs (on the store's thread) when the store finds it lost updates it had acknowledged
  // or published (a Redis restored from an older snapshot, a failover that lost writes): ids then
  // continue above every earlier one, and live sessions should resume to learn recovered:false.
  // An empty `fn` unregisters. Any thread. A store that cannot lose updates never calls it.
  virtual void on_history_lost(std::function<void()> fn) { (void)fn; }
};

}  // namespace dh::core
