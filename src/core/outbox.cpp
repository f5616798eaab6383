#include "core/outbox.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dh::core {

namespace asio = boost::asio;

outbox::outbox(asio::any_io_executor executor, std::size_t max_frames, std::size_t max_bytes)
    : executor_(std::move(executor)), max_frames_(max_frames), max_bytes_(max_bytes) {}

namespace {
std::size_t bytes_of(const outbound& item) noexcept { return item.data ? item.data->size() : 0; }
}  // namespace

// Handlers run on the outbox's executor, which is the session's (the writer's and the close
// guard's), never inline under a pusher's call stack, which may be the hub's thread.
void outbox::deliver(item_handler handler, std::optional<outbound> item) {
  asio::post(executor_, [handler = std::move(handler), item = std::move(item)]() mutable { std::move(handler)(std::move(item)); });
}

void outbox::notify(notify_fn handler) {
  asio::post(executor_, [handler = std::move(handler)]() mutable { std::move(handler)(); });
}

outbox::work outbox::tracked() const {
  return asio::prefer(executor_, asio::execution::outstanding_work.tracked);
}

// The byte bound: `size` more bytes may wait, or nothing waits (so no frame is too big to send).
bool outbox::fits_locked(std::size_t size) const noexcept {
  return head_ == queue_.size() || size <= max_bytes_ - std::min(max_bytes_, queued_bytes_);
}

bool outbox::has_room_locked() const noexcept {
  return queue_.size() - head_ <= max_frames_ / 2 && fits_locked(room_needed_);
}

// Moves the room waiter out (with its executor as the work guard) when it may go on.
void outbox::wake_room_waiter_locked(ready_waiters& out) {
  if (!room_waiter_) return;
  if (!has_room_locked() && !shut_ && !has_close_request_.load(std::memory_order_relaxed)) return;
  out.emplace_back(take(room_waiter_), std::exchange(room_executor_, {}));
}

// Each waiter runs on its own executor (the producer's, e.g. the hub's strand), never the outbox's.
void outbox::run_room_waiters(ready_waiters waiters) {
  for (auto& [handler, executor] : waiters)
    asio::post(executor, [handler = std::move(handler)]() mutable { std::move(handler)(); });
}

asio::awaitable<void> outbox::wait_for_room(std::size_t bytes, asio::any_io_executor executor) {
  return asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [this, bytes](auto handler, asio::any_io_executor ex) {
        ready_waiters ready;
        {
          std::lock_guard lock(mutex_);
          if (room_waiter_) ready.emplace_back(take(room_waiter_), std::exchange(room_executor_, {}));  // one at a time
          notify_fn(std::move(handler)).swap(room_waiter_);
          room_executor_ = asio::prefer(ex, asio::execution::outstanding_work.tracked);
          room_needed_ = bytes;
          wake_room_waiter_locked(ready);
        }
        run_room_waiters(std::move(ready));
      },
      asio::use_awaitable, std::move(executor));
}

std::optional<outbound> outbox::pop_locked() {
  if (head_ == queue_.size()) return std::nullopt;
  auto item = std::move(queue_[head_++]);
  queued_bytes_ -= bytes_of(item);
  if (head_ == queue_.size()) {
    head_ = 0;
    queue_.clear();
    if (queue_.capacity() > 64) queue_.shrink_to_fit();  // an idle session keeps no burst-sized buffer
  }
  return item;
}

void outbox::clear_locked() {
  std::vector<outbound>().swap(queue_);
  head_ = 0;
  queued_bytes_ = 0;
}

outbox::push_result outbox::push_item(outbound item) {
  std::unique_lock lock(mutex_);
  if (shut_ || has_close_request_.load(std::memory_order_relaxed)) return push_result::closed;
  if (waiter_) {  // the writer waits on an empty queue: hand the item over directly
    auto writer = take(waiter_);
    auto writer_work = std::exchange(waiter_work_, {});  // released after the post below
    lock.unlock();
    deliver(std::move(writer), std::move(item));
    return push_result::ok;
  }
  const auto size = bytes_of(item);
  if (queue_.size() - head_ >= max_frames_ || !fits_locked(size)) return push_result::full;
  queued_bytes_ += size;
  queue_.push_back(std::move(item));
  return push_result::ok;
}

outbox::push_result outbox::push(frame f, frame_tag tag) {
  return push_item({outbound::kind::frame, std::move(f), tag});
}

outbox::push_result outbox::push_ping() { return push_item({outbound::kind::ping, nullptr, {}}); }

bool outbox::set_close_request(close_request request) {
  notify_fn guard;  // moved out under the lock, run after it
  item_handler writer;
  work guard_work, writer_work;
  ready_waiters ready;
  {
    std::lock_guard lock(mutex_);
    if (has_close_request_.load(std::memory_order_relaxed) || shut_) return false;
    close_request_code_ = request.code;
    close_request_reason_ = request.reason;
    close_request_ = std::move(request);
    has_close_request_.store(true, std::memory_order_release);
    // Never sent now: a slow consumer's backlog is freed here, not after the close grace.
    clear_locked();
    take(close_request_waiter_).swap(guard);
    guard_work = std::exchange(close_request_work_, {});
    take(waiter_).swap(writer);
    writer_work = std::exchange(waiter_work_, {});
    wake_room_waiter_locked(ready);
  }
  run_room_waiters(std::move(ready));
  if (guard) notify(std::move(guard));
  // A writer busy with a write sees the request when that write ends.
  if (writer) deliver(std::move(writer), outbound{outbound::kind::wake, nullptr, {}});
  return true;
}

std::pair<std::uint16_t, std::string> outbox::close_request_reason() const {
  std::lock_guard lock(mutex_);
  return {close_request_code_, close_request_reason_};
}

std::size_t outbox::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

std::optional<close_request> outbox::take_close_request() {
  std::lock_guard lock(mutex_);
  return std::exchange(close_request_, std::nullopt);
}

void outbox::async_receive(item_handler handler) {
  ready_waiters ready;
  std::unique_lock lock(mutex_);
  auto item = pop_locked();
  wake_room_waiter_locked(ready);
  // A close requested before the writer came to wait wakes it, as one requested after does.
  if (!item && !shut_ && has_close_request_.load(std::memory_order_relaxed)) item = outbound{outbound::kind::wake, nullptr, {}};
  if (item || shut_) {
    lock.unlock();
    run_room_waiters(std::move(ready));
    deliver(std::move(handler), std::move(item));
    return;
  }
  handler.swap(waiter_);  // not operator=: see take()
  waiter_work_ = tracked();
  lock.unlock();
  run_room_waiters(std::move(ready));
}

asio::awaitable<std::optional<outbound>> outbox::receive() {
  // An asynchronous operation, not a coroutine: nothing but the operation itself waits.
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<outbound>)>(
      [this](auto handler) { async_receive(item_handler(std::move(handler))); }, asio::use_awaitable);
}

std::optional<outbound> outbox::try_receive() {
  ready_waiters ready;
  std::optional<outbound> item;
  {
    std::lock_guard lock(mutex_);
    item = pop_locked();
    wake_room_waiter_locked(ready);
  }
  run_room_waiters(std::move(ready));
  return item;
}

void outbox::shut_down() {
  item_handler writer;
  notify_fn guard;
  ready_waiters ready;
  work writer_work, guard_work;  // released after the posts below
  {
    std::lock_guard lock(mutex_);
    if (shut_) return;
    shut_ = true;
    clear_locked();
    take(waiter_).swap(writer);
    take(close_request_waiter_).swap(guard);
    writer_work = std::exchange(waiter_work_, {});
    guard_work = std::exchange(close_request_work_, {});
    wake_room_waiter_locked(ready);
  }
  run_room_waiters(std::move(ready));
  if (writer) deliver(std::move(writer), std::nullopt);
  if (guard) notify(std::move(guard));
}

}  // namespace dh::core
