// gathering_stream.hpp — the TCP stream under a WebSocket session, able to gather a burst of
// frames into one send: one syscall for a writer's burst instead of one per frame.
#pragma once

#include "net/net.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <utility>
#include <vector>

namespace dh::net {

// Beast frames every message and keeps its own writes in order (its read operation also writes:
// pong and close replies), so gathering happens below it. While gathering, a write is copied
// into a pending buffer and completes at once; the first write after gathering ends carries the
// pending bytes and its own in one send. That write runs inside Beast's write lock like any
// other, so nothing Beast sends can land between the gathered bytes. The writer gathers only
// while more frames are already queued, so nothing waits in the buffer for a later event.
class gathering_stream {
 public:
  using executor_type = tcp::socket::executor_type;

  explicit gathering_stream(tcp::socket socket) : socket_(std::move(socket)) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& socket() noexcept { return socket_; }
  tcp::socket& next_layer() noexcept { return socket_; }
  const tcp::socket& next_layer() const noexcept { return socket_; }

  // Between gather(true) and gather(false), writes are held; the next write sends them all.
  void gather(bool on) noexcept { gathering_ = on; }
  // Bytes held for the next send: the writer stops gathering past a bound, so a burst that never
  // ends cannot grow the buffer without one.
  std::size_t pending_bytes() const noexcept { return pending_.size(); }

  // Sends whatever is held, then calls handler(ec): for a burst's last write, and for the
  // teardown after a close frame that Beast's reader wrote in the middle of a gathered burst.
  // The pending buffer is freed after it, so an idle connection keeps none.
  template <class Token>
  auto async_flush(Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) { this->start_flush(std::move(handler)); }, token);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& bufs) { this->start_write(std::move(handler), bufs); }, token, buffers);
  }

 private:
  template <class Handler>
  void start_flush(Handler handler) {
    gathering_ = false;
    auto executor = asio::get_associated_executor(handler, socket_.get_executor());
    if (pending_.empty()) {
      asio::post(executor, [handler = std::move(handler)]() mutable { std::move(handler)(boost::system::error_code{}); });
      return;
    }
    asio::async_write(socket_, asio::buffer(pending_),
                      asio::bind_executor(executor, [this, handler = std::move(handler)](boost::system::error_code ec,
                                                                                         std::size_t) mutable {
                        std::vector<char>().swap(pending_);
                        std::move(handler)(ec);
                      }));
  }

  template <class Handler, class ConstBuffers>
  void start_write(Handler handler, const ConstBuffers& buffers) {
    const auto size = asio::buffer_size(buffers);
    if (pending_.empty() && !gathering_) {
      socket_.async_write_some(buffers, std::move(handler));
      return;
    }
    append(buffers);
    if (gathering_) {
      auto executor = asio::get_associated_executor(handler, socket_.get_executor());
      asio::post(executor, [handler = std::move(handler), size]() mutable {
        std::move(handler)(boost::system::error_code{}, size);
      });
      return;
    }
    // The flush: everything held so far and this write, in one send (or as few as the socket
    // takes).
    async_flush([handler = std::move(handler), size](boost::system::error_code ec) mutable {
      std::move(handler)(ec, ec ? 0 : size);
    });
  }

  template <class ConstBuffers>
  void append(const ConstBuffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      const asio::const_buffer b(*it);
      const auto* data = static_cast<const char*>(b.data());
      pending_.insert(pending_.end(), data, data + b.size());
    }
  }

  tcp::socket socket_;
  std::vector<char> pending_;
  bool gathering_ = false;
};

// Beast closes the TCP connection of a finished WebSocket through these, found by argument-
// dependent lookup; a gathering_stream is torn down like its socket.
inline void teardown(beast::role_type role, gathering_stream& stream, boost::system::error_code& ec) {
  beast::websocket::teardown(role, stream.socket(), ec);
}

template <class TeardownHandler>
void async_teardown(beast::role_type role, gathering_stream& stream, TeardownHandler&& handler) {
  stream.async_flush([role, &stream, handler = std::forward<TeardownHandler>(handler)](boost::system::error_code) mutable {
    beast::websocket::async_teardown(role, stream.socket(), std::move(handler));
  });
}

}  // namespace dh::net
