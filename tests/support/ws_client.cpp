#include "support/ws_client.hpp"

#include <boost/asio/connect.hpp>
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

void set_receive_timeout(tcp::socket& socket, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

tcp::endpoint loopback(std::uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

}  // namespace

http_reply http_get(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(loopback(port));
  set_receive_timeout(socket, std::chrono::seconds(5));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  for (const auto& [name, value] : headers) req.set(name, value);
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::system::error_code ec;
  http::read(socket, buffer, res, ec);
  if (ec) return {0, ec.message()};
  return {static_cast<int>(res.result_int()), res.body()};
}

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;
};

ws_client::ws_client() : impl_(std::make_unique<impl>()) {}
ws_client::~ws_client() {
  if (impl_ && impl_->ws.is_open()) {
    boost::system::error_code ignored;
    impl_->ws.next_layer().close(ignored);
  }
}

bool ws_client::connect(std::uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers,
                        int* refused_status) {
  auto& ws = impl_->ws;
  ws.next_layer().connect(loopback(port));
  set_receive_timeout(ws.next_layer(), std::chrono::seconds(5));
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
  auto& ws = impl_->ws;
  set_receive_timeout(ws.next_layer(), timeout);
  impl_->buffer.clear();
  boost::system::error_code ec;
  ws.read(impl_->buffer, ec);
  if (ec) return std::nullopt;
  return beast::buffers_to_string(impl_->buffer.data());
}

boost::json::object ws_client::read_json(std::chrono::milliseconds timeout) {
  auto text = read_text(timeout);
  REQUIRE_MESSAGE(text.has_value(), "expected a message from the server");
  auto value = boost::json::parse(*text);
  REQUIRE(value.is_object());
  return value.get_object();
}

int ws_client::read_until_close(std::chrono::milliseconds timeout) {
  auto& ws = impl_->ws;
  set_receive_timeout(ws.next_layer(), timeout);
  for (;;) {
    impl_->buffer.clear();
    boost::system::error_code ec;
    ws.read(impl_->buffer, ec);
    if (ec == websocket::error::closed) return static_cast<int>(ws.reason().code);
    if (ec) return 0;
  }
}

bool ws_client::is_open() const { return impl_->ws.is_open(); }

}  // namespace dh::test
