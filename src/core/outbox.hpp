// outbox.hpp — a session's outbound queue of shared, already-serialised frames, bounded in frames
// and in bytes. Any thread may push (never blocks); only the session's writer coroutine receives.
#pragma once

#include "core/clock.hpp"
#include "core/metrics.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dh::core {

// One message serialised once and shared by every session it goes to.
using frame = std::shared_ptr<const std::string>;

inline frame make_frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

// What the writer needs besides the bytes: the message type (counted once written; SSE's
// `event:`), for an update that ingest caused when ingest accepted it (the epoch when none), and
// the last event id the frame carries (task_update, task_batch: SSE's `id:`; 0 when none).
struct frame_tag {
  server_message type = server_message::none;
  wall_time accepted{};
  std::uint64_t event_id = 0;
};

struct close_request {
  std::uint16_t code = 1000;
  frame last_frame;  // sent before the close frame (the `error` envelope), may be null
  std::string reason;
  server_message last_type = server_message::error;
};

struct outbound {
  enum class kind : std::uint8_t { frame, ping, wake };
  kind what = kind::wake;
  frame data;
  frame_tag tag;
};

class outbox {
 public:
  enum class push_result { ok, full, closed };

  // `executor` is the session's: the writer waits on it and every handler here runs on it.
  // A push is refused (full) when `max_frames` frames or `max_bytes` bytes already wait; a frame
  // larger than max_bytes still goes when nothing waits, so no message is too big to send.
  outbox(boost::asio::any_io_executor executor, std::size_t max_frames,
         std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

  push_result push(frame f, frame_tag tag = {});
  push_result push_ping();

  // For a producer with much to send (a replay): completes, through `executor`, once a frame of
  // `bytes` would be taken with room to spare (at most half the frames wait, and the bytes fit
  // in the bound or nothing waits), or at once when the outbox is closing or shut down. One
  // waiter at a time.
  boost::asio::awaitable<void> wait_for_room(std::size_t bytes, boost::asio::any_io_executor executor);

  // The close request: the session ends after the write in flight, the writer sending
  // last_frame, then the close with its code. The first request is kept (true); later ones are
  // ignored (false). What was queued is freed at once and later pushes are refused (closed): none
  // of it would be sent. The writer takes the request; its code and reason stay for the log.
  bool set_close_request(close_request request);
  bool has_close_request() const noexcept { return has_close_request_.load(std::memory_order_acquire); }
  std::optional<close_request> take_close_request();
  std::pair<std::uint16_t, std::string> close_request_reason() const;  // {0, ""}: none

  // Bytes of the frames waiting (not the one being written).
  std::size_t queued_bytes() const;

  // Calls `handler()` once, through the outbox's executor, when a close request is set or the
  // outbox is shut down. A callback, not a coroutine: it waits for the
  // whole life of every connection, and a coroutine frame per connection is memory.
  template <class Handler>
  void on_close_request(Handler handler) {
    std::unique_lock lock(mutex_);
    if (!has_close_request_.load(std::memory_order_relaxed) && !shut_) {
      notify_fn(std::move(handler)).swap(close_request_waiter_);  // not operator=: see take()
      close_request_work_ = tracked();
      return;
    }
    lock.unlock();
    notify(notify_fn(std::move(handler)));
  }

  // Writer side: try_receive() takes what waits; on an empty queue the writer waits with
  // async_receive (a callback, so an idle session keeps no writer coroutine) or receive() (in a
  // coroutine). Either yields the next item, a `wake` item once a close is requested, or nullopt
  // once the outbox is shut down.
  using item_handler = boost::asio::any_completion_handler<void(std::optional<outbound>)>;
  void async_receive(item_handler handler);
  boost::asio::awaitable<std::optional<outbound>> receive();
  std::optional<outbound> try_receive();

  // Wakes the writer for good; pushes fail from now on.
  void shut_down();

 private:
  using notify_fn = boost::asio::any_completion_handler<void()>;

  // Boost 1.81's any_completion_handler move-assignment copies from an lvalue and crashes;
  // handlers only ever move in by swap and out by move-construction.
  template <class Handler>
  static Handler take(Handler& slot) noexcept {
    Handler out;
    out.swap(slot);
    return out;
  }

  push_result push_item(outbound item);
  void clear_locked();
  bool fits_locked(std::size_t size) const noexcept;
  bool has_room_locked() const noexcept;
  // wait_for_room's handler with its executor, moved out under the lock and run after it.
  using ready_waiters = std::vector<std::pair<notify_fn, boost::asio::any_io_executor>>;
  void wake_room_waiter_locked(ready_waiters& out);
  static void run_room_waiters(ready_waiters waiters);
  std::optional<outbound> pop_locked();
  void notify(notify_fn handler);
  void deliver(item_handler handler, std::optional<outbound> item);

  // Not Asio's channel: that keeps two std::deque (a kilobyte) per session even when idle. A
  // vector read from head_ allocates only while frames wait.
  boost::asio::any_io_executor executor_;
  std::size_t max_frames_;
  std::size_t max_bytes_;
  mutable std::mutex mutex_;  // guards everything below; never held across a suspension or a handler
  std::vector<outbound> queue_;
  std::size_t head_ = 0;
  std::size_t queued_bytes_ = 0;
  item_handler waiter_;     // the writer, waiting on an empty queue
  notify_fn close_request_waiter_;  // on_close_request's handler
  notify_fn room_waiter_;   // wait_for_room's handler, run on room_executor_
  boost::asio::any_io_executor room_executor_;
  std::size_t room_needed_ = 0;
  // A stored handler is pending work of the executor, as any asynchronous operation is: these
  // hold a work-tracking copy of it while a handler waits (empty otherwise).
  using work = boost::asio::any_io_executor;
  work tracked() const;
  work waiter_work_, close_request_work_;
  bool shut_ = false;
  std::atomic<bool> has_close_request_{false};
  std::optional<close_request> close_request_;
  std::uint16_t close_request_code_ = 0;
  std::string close_request_reason_;
};

}  // namespace dh::core
