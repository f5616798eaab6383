#include "net/http_session.hpp"

#include "net/api.hpp"
#include "net/routes.hpp"
#include "net/ws_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace dh::net {

namespace {

constexpr std::size_t header_limit = 8 * 1024;
constexpr auto keep_alive_timeout = std::chrono::seconds(30);

// A failed write means the peer went away: an expected outcome, reported as false.
asio::awaitable<bool> write_response(beast::tcp_stream& stream, response res) {
  auto [ec, n] = co_await http::async_write(stream, res, as_values);
  (void)n;
  co_return !ec;
}

std::string remote_of(const beast::tcp_stream& stream) {
  boost::system::error_code ec;
  const auto ep = stream.socket().remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

asio::awaitable<void> run_http_session(server_context& ctx, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const auto remote = remote_of(stream);
  bool first = true;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(ctx.settings.max_ingest_bytes);  // only ingest takes a body; others have none
    // The first request is a handshake and gets the handshake deadline; later ones keep-alive.
    stream.expires_after(first ? ctx.settings.handshake_timeout
                               : std::chrono::duration_cast<std::chrono::steady_clock::duration>(keep_alive_timeout));
    first = false;
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, as_values);
    (void)n;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof)
      co_return;
    if (ec) {
      // Malformed or oversized request: say so, then hang up.
      const auto status = ec == http::error::header_limit || ec == http::error::body_limit
                              ? http::status::payload_too_large
                              : http::status::bad_request;
      ctx.log.debug("bad request from {}: {}", remote, ec.message());
      co_await write_response(stream, make_response(status, "bad request\n", 11, false));
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    request req = parser.release();
    if (beast::websocket::is_upgrade(req)) {
      if (auto target = match_ws_target(req.target())) {
        if (!origin_allowed(req, ctx.settings)) {
          ctx.log.info("upgrade refused from {}: origin not allowed", remote);
          co_await write_response(stream, make_response(http::status::forbidden, "origin not allowed\n", req.version(), false));
          co_return;
        }
        // The WebSocket session gets its own coroutine and only the socket, so this frame, the
        // parser, the read buffer and tcp_stream's timers are freed for the session's whole life.
        stream.expires_never();
        auto executor = stream.get_executor();
        asio::co_spawn(executor, run_ws_session(ctx, stream.release_socket(), std::move(req), std::move(*target), remote),
                       report_failure(ctx));
        co_return;
      }
    }
    response res;
    if (is_api_target(req.target()))
      res = co_await handle_api_request(ctx, req);
    else
      res = handle_http_request(req, ctx);
    const bool keep_alive = res.keep_alive();
    if (!co_await write_response(stream, std::move(res))) co_return;
    if (!keep_alive) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

}  // namespace dh::net
