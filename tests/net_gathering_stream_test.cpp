// net_gathering_stream_test.cpp — the stream under each WebSocket session: while gathering,
// writes are held and complete at once; the first write after gathering sends everything in
// order; a flush sends what is held. Over a real loopback TCP connection.
#include "net/gathering_stream.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <string>
#include <thread>
#include <vector>

namespace net_gathering_stream_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using dh::net::gathering_stream;

namespace {

struct connected_pair {
  asio::io_context ioc;
  tcp::socket client{ioc};
  tcp::socket server{ioc};

  connected_pair() {
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
};

// Runs one async write to completion and returns what it reported.
std::size_t write_some(asio::io_context& ioc, gathering_stream& stream, std::string_view text) {
  std::size_t reported = 0;
  bool done = false;
  stream.async_write_some(asio::buffer(text), [&](boost::system::error_code ec, std::size_t n) {
    REQUIRE_FALSE(ec);
    reported = n;
    done = true;
  });
  ioc.restart();
  ioc.run();
  REQUIRE(done);
  return reported;
}

std::string read_exactly(tcp::socket& socket, std::size_t n) {
  std::string out(n, '\0');
  asio::read(socket, asio::buffer(out));
  return out;
}

}  // namespace

TEST_CASE("gathering_stream holds writes while gathering and sends them with the next write") {
  connected_pair p;
  gathering_stream stream(std::move(p.server));

  stream.gather(true);
  CHECK(write_some(p.ioc, stream, "one,") == 4);
  CHECK(write_some(p.ioc, stream, "two,") == 4);
  CHECK(p.client.available() == 0);  // nothing was handed to the socket yet

  stream.gather(false);
  CHECK(write_some(p.ioc, stream, "three") == 5);
  CHECK(read_exactly(p.client, 13) == "one,two,three");

  // Not gathering and nothing held: a plain write.
  CHECK(write_some(p.ioc, stream, "four") == 4);
  CHECK(read_exactly(p.client, 4) == "four");
}

TEST_CASE("gathering_stream async_flush sends what is held and stops gathering") {
  connected_pair p;
  gathering_stream stream(std::move(p.server));
  stream.gather(true);
  write_some(p.ioc, stream, "held");
  bool flushed = false;
  stream.async_flush([&](boost::system::error_code ec) {
    CHECK_FALSE(ec);
    flushed = true;
  });
  p.ioc.restart();
  p.ioc.run();
  CHECK(flushed);
  CHECK(read_exactly(p.client, 4) == "held");
  write_some(p.ioc, stream, "direct");  // gathering ended with the flush
  CHECK(read_exactly(p.client, 6) == "direct");
}

TEST_CASE("WebSocket messages gathered under Beast arrive whole and in order") {
  connected_pair p;
  websocket::stream<gathering_stream> server(std::move(p.server));
  websocket::stream<tcp::socket> client(std::move(p.client));
  server.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));

  bool accepted = false;
  server.async_accept([&](boost::system::error_code ec) { accepted = !ec; });
  std::thread handshake([&] { client.handshake("127.0.0.1", "/"); });
  p.ioc.run();
  handshake.join();
  REQUIRE(accepted);

  const std::vector<std::string> messages{"first", "second", std::string(3000, 'x'), "last"};
  for (std::size_t i = 0; i < messages.size(); ++i) {
    server.next_layer().gather(i + 1 < messages.size());
    bool written = false;
    server.async_write(asio::buffer(messages[i]), [&](boost::system::error_code ec, std::size_t) { written = !ec; });
    p.ioc.restart();
    p.ioc.run();
    REQUIRE(written);
  }
  for (const auto& expected : messages) {
    beast::flat_buffer buffer;
    client.read(buffer);
    CHECK(beast::buffers_to_string(buffer.data()) == expected);
  }
}

}  // namespace net_gathering_stream_test
