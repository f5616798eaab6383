// outbox.hpp — a session's bounded outbound queue of shared, already-serialised frames. Any
// thread may push (never blocks); only the session's writer coroutine receives. The one file
// that names Asio's experimental channel, so an API change touches nothing else.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace dh::core {

// One message serialised once and shared by every session it goes to.
using frame = std::shared_ptr<const std::string>;

inline frame make_frame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

struct close_request {
  std::uint16_t code = 1000;
  frame last_frame;  // sent before the close frame (the `error` envelope), may be null
  std::string reason;
};

struct outbound {
  enum class kind : std::uint8_t { frame, ping, wake };
  kind what = kind::wake;
  frame data;
};

class outbox {
 public:
  enum class push_result { ok, full, closed };

  outbox(boost::asio::any_io_executor executor, std::size_t capacity);

  push_result push(frame f);
  push_result push_ping();

  // Ends the session after the write in flight: the writer sends last_frame, then closes with
  // code. The first request wins; later ones are ignored.
  void request_close(close_request request);
  bool close_requested() const noexcept { return close_requested_.load(std::memory_order_acquire); }
  std::optional<close_request> take_close_request();

  // Calls `handler()` once, through the outbox's executor, when a close is requested or the
  // outbox is shut down (for the close guard). A callback, not a coroutine: it waits for the
  // whole life of every connection, and a coroutine frame per connection is memory.
  template <class Handler>
  void on_close_requested(Handler handler) {
    close_signal_.async_receive([handler = std::move(handler)](boost::system::error_code) mutable { handler(); });
  }

  // Writer side. receive() yields nullopt once the outbox is shut down.
  boost::asio::awaitable<std::optional<outbound>> receive();
  std::optional<outbound> try_receive();

  // Wakes the writer for good; pushes fail from now on.
  void shut_down();

 private:
  push_result push_item(outbound item);

  using channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, outbound)>;
  channel channel_;
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> close_signal_;
  std::atomic<bool> close_requested_{false};
  std::mutex close_mutex_;  // guards close_ only; never held across a suspension
  std::optional<close_request> close_;
};

}  // namespace dh::core
