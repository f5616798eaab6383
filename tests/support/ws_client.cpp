#include "support/ws_client.hpp"

#include "protocol/strict_json.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/time.h>


namespace dh::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint loopback(std::uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

// Whatever the server emits must parse strictly: a browser's JSON.parse refuses `Infinity`.
void check_strict_json(const std::string& text) {
  const auto parsed = protocol::parse_strict_json(text);
  CHECK_MESSAGE(parsed.has_value(), "the server sent JSON that a strict parser refuses: ", text.substr(0, 300));
}

}  // namespace

namespace {

http_reply http_call(std::uint16_t port, http::verb method, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(loopback(port));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  for (const auto& [name, value] : headers) req.set(name, value);
  if (method == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::system::error_code ec;
  http::read(socket, buffer, res, ec);
  if (ec) return {0, ec.message()};
  if (res[http::field::content_type].starts_with("application/json")) check_strict_json(res.body());
  return {static_cast<int>(res.result_int()), res.body()};
}

}  // namespace

namespace {

tcp::socket connect_and_send(asio::io_context& ioc, std::uint16_t port, const std::string& bytes, const std::string& from) {
  tcp::socket socket(ioc);
  if (!from.empty()) {
    socket.open(tcp::v4());
    socket.bind({asio::ip::make_address(from), 0});
  }
  socket.connect(loopback(port));
  asio::write(socket, asio::buffer(bytes));
  return socket;
}

void set_receive_timeout(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

}  // namespace

std::string raw_exchange(std::uint16_t port, const std::string& bytes, const std::string& from) {
  asio::io_context ioc;
  auto socket = connect_and_send(ioc, port, bytes, from);
  return read_until_closed(socket.native_handle());
}

std::string raw_first_read(std::uint16_t port, const std::string& bytes) {
  asio::io_context ioc;
  auto socket = connect_and_send(ioc, port, bytes, {});
  set_receive_timeout(socket.native_handle());
  char chunk[8192];
  const auto n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
  return n > 0 ? std::string(chunk, static_cast<std::size_t>(n)) : std::string();
}

std::string upgrade_request(const std::string& target, const std::string& extra_headers, const std::string& version) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " +
         version + "\r\n" + extra_headers + "\r\n";
}

std::string read_until_closed(int fd) {
  set_receive_timeout(fd);
  std::string out;
  char chunk[4096];
  for (;;) {
    const auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return out;
    out.append(chunk, static_cast<std::size_t>(n));
  }
}

http_reply http_get(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers) {
  return http_call(port, http::verb::get, target, {}, headers);
}

http_reply http_post(std::uint16_t port, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers) {
  return http_call(port, http::verb::post, target, body, headers);
}

// Asio's blocking reads ignore SO_RCVTIMEO (they poll again on EAGAIN), so reads are async and
// bounded with run_for. A read that times out stays pending and is picked up by the next call.
struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;
  bool reading = false;
  bool done = false;
  boost::system::error_code read_error;

  // The next message, or nullopt; `error` tells a close or failure from a timeout.
  std::optional<std::string> read(std::chrono::milliseconds timeout, boost::system::error_code& error) {
    error = {};
    if (!reading) {
      buffer.clear();
      reading = true;
      done = false;
      ws.async_read(buffer, [this](boost::system::error_code ec, std::size_t) {
        done = true;
        read_error = ec;
      });
    }
    ioc.restart();
    ioc.run_for(timeout);
    if (!done) return std::nullopt;
    reading = false;
    if (read_error) {
      error = read_error;
      return std::nullopt;
    }
    auto text = beast::buffers_to_string(buffer.data());
    if (ws.got_text()) check_strict_json(text);
    return text;
  }
};

ws_client::ws_client() : impl_(std::make_unique<impl>()) {}
ws_client::~ws_client() {
  if (impl_ && impl_->ws.is_open()) {
    boost::system::error_code ignored;
    impl_->ws.next_layer().close(ignored);
  }
}

bool ws_client::connect(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers,
                        int* refused_status, const std::string& from) {
  auto& ws = impl_->ws;
  if (!from.empty()) {
    ws.next_layer().open(tcp::v4());
    ws.next_layer().bind({asio::ip::make_address(from), 0});
  }
  ws.next_layer().connect(loopback(port));
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers) req.set(name, value);
  }));
  websocket::response_type res;
  boost::system::error_code ec;
  ws.handshake(res, "127.0.0.1", target, ec);
  if (refused_status) *refused_status = static_cast<int>(res.result_int());
  return !ec;
}

void ws_client::send_text(const std::string& text) {
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text));
}

void ws_client::send_binary(const std::string& bytes) {
  impl_->ws.binary(true);
  impl_->ws.write(asio::buffer(bytes));
  impl_->ws.text(true);
}

void ws_client::send_json(const boost::json::object& message) { send_text(boost::json::serialize(message)); }

void ws_client::send_ping(const boost::json::object& payload) {
  send_json({{"type", "ping"}, {"payload", payload}, {"timestamp", "2026-01-03T10:30:00.000Z"}});
}

std::optional<std::string> ws_client::read_text(std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  return impl_->read(timeout, ec);
}

int ws_client::close_code() const { return static_cast<int>(impl_->ws.reason().code); }

boost::json::object ws_client::read_json(std::chrono::milliseconds timeout) {
  auto text = read_text(timeout);
  REQUIRE_MESSAGE(text.has_value(), "expected a message from the server");
  auto value = boost::json::parse(*text);
  REQUIRE(value.is_object());
  return value.get_object();
}

int ws_client::read_until_close(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -1;  // still open: the server never closed
    boost::system::error_code ec;
    impl_->read(left, ec);
    if (ec == websocket::error::closed) return static_cast<int>(impl_->ws.reason().code);
    if (ec) return 0;
  }
}

namespace {

// The code of the first close frame in `bytes` (server frames: unmasked), or nullopt if none is
// complete yet.
std::optional<int> close_code_in(const std::string& bytes) {
  for (std::size_t at = 0; at + 2 <= bytes.size();) {
    const auto opcode = static_cast<unsigned char>(bytes[at]) & 0x0f;
    std::uint64_t length = static_cast<unsigned char>(bytes[at + 1]) & 0x7f;
    std::size_t header = 2;
    if (length >= 126) {
      const std::size_t extra = length == 126 ? 2 : 8;
      if (at + 2 + extra > bytes.size()) return std::nullopt;
      length = 0;
      for (std::size_t i = 0; i < extra; ++i) length = (length << 8) | static_cast<unsigned char>(bytes[at + 2 + i]);
      header += extra;
    }
    if (at + header + length > bytes.size()) return std::nullopt;
    if (opcode == 0x8)
      return length >= 2 ? (static_cast<unsigned char>(bytes[at + header]) << 8) |
                               static_cast<unsigned char>(bytes[at + header + 1])
                         : 1005;
    at += header + length;
  }
  return std::nullopt;
}

}  // namespace

int ws_client::read_deaf_until_close() {
  REQUIRE_MESSAGE(!impl_->reading, "a read is still pending; the raw bytes would be split with it");
  // Frames Beast already buffered past the last message are not seen here; the close frame comes
  // later than any of them.
  auto& socket = impl_->ws.next_layer();
  socket.native_non_blocking(false);  // Asio left the descriptor non-blocking; recv(2) must wait
  // A bound, not a measure: a sanitized server among parallel tests took over 5 s to reach the close
  // of 20,000 one-byte fragments (net_hostile_test, CI with four tests at a time).
  timeval tv{30, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string bytes;
  char chunk[4096];
  for (;;) {
    if (const auto code = close_code_in(bytes)) return *code;
    const auto n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
    if (n <= 0) return 0;
    bytes.append(chunk, static_cast<std::size_t>(n));
  }
}

void ws_client::send_raw(const std::string& bytes) {
  asio::write(impl_->ws.next_layer(), asio::buffer(bytes));
}

void ws_client::shutdown_send() {
  impl_->ws.next_layer().shutdown(tcp::socket::shutdown_send);
}

void ws_client::reset() {
  auto& socket = impl_->ws.next_layer();
  boost::system::error_code ignored;  // the connection is being thrown away either way
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

bool ws_client::close(std::uint16_t code, std::chrono::milliseconds timeout) {
  bool done = false;
  boost::system::error_code result;
  impl_->ws.async_close(static_cast<websocket::close_code>(code), [&](boost::system::error_code ec) {
    done = true;
    result = ec;
  });
  impl_->ioc.restart();
  impl_->ioc.run_for(timeout);
  return done && !result;
}

void ws_client::send_close_frame(std::uint16_t code) {
  // FIN + close opcode, masked, a 2-byte payload: the code, masked with the key.
  const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
  const unsigned char frame[8] = {0x88, 0x82, key[0], key[1], key[2], key[3],
                                  static_cast<unsigned char>((code >> 8) ^ key[0]),
                                  static_cast<unsigned char>((code & 0xff) ^ key[1])};
  asio::write(impl_->ws.next_layer(), asio::buffer(frame));
}

bool ws_client::is_open() const { return impl_->ws.is_open(); }

}  // namespace dh::test
