#include "core/outbox.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dh::core {

namespace asio = boost::asio;

outbox::outbox(asio::any_io_executor executor, std::size_t capacity)
    : channel_(executor, capacity), close_signal_(executor, 1) {}

outbox::push_result outbox::push_item(outbound item) {
  if (!channel_.is_open()) return push_result::closed;
  if (channel_.try_send(boost::system::error_code{}, std::move(item))) return push_result::ok;
  return channel_.is_open() ? push_result::full : push_result::closed;
}

outbox::push_result outbox::push(frame f) { return push_item({outbound::kind::frame, std::move(f)}); }

outbox::push_result outbox::push_ping() { return push_item({outbound::kind::ping, nullptr}); }

void outbox::request_close(close_request request) {
  {
    std::lock_guard lock(close_mutex_);
    if (close_requested_.load(std::memory_order_relaxed)) return;
    close_ = std::move(request);
    close_requested_.store(true, std::memory_order_release);
  }
  close_signal_.try_send(boost::system::error_code{});
  // If the queue is full the writer is busy and will see the request after its current write.
  push_item({outbound::kind::wake, nullptr});
}

std::optional<close_request> outbox::take_close_request() {
  std::lock_guard lock(close_mutex_);
  return std::exchange(close_, std::nullopt);
}

asio::awaitable<std::optional<outbound>> outbox::receive() {
  auto [ec, item] = co_await channel_.async_receive(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return std::nullopt;
  co_return std::move(item);
}

std::optional<outbound> outbox::try_receive() {
  std::optional<outbound> out;
  channel_.try_receive([&](boost::system::error_code ec, outbound item) {
    if (!ec) out = std::move(item);
  });
  return out;
}

void outbox::shut_down() {
  channel_.close();
  close_signal_.close();
}

}  // namespace dh::core
