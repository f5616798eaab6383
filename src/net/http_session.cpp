#include "net/http_session.hpp"

#include "net/api.hpp"
#include "net/ops_routes.hpp"
#include "net/request_rules.hpp"
#include "net/session_handshake.hpp"
#include "net/sse_session.hpp"
#include "net/routes.hpp"
#include "net/ws_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/range/iterator_range_core.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <vector>
#include <utility>

namespace dh::net {

namespace {

constexpr header_limits limits{};
constexpr std::size_t read_size = 4096;
constexpr auto keep_alive_timeout = std::chrono::seconds(30);

// A failed write means the peer went away: an expected outcome, reported as false.
asio::awaitable<bool> write_response(beast::tcp_stream& stream, response res) {
  auto [ec, n] = co_await http::async_write(stream, res, as_values);
  (void)n;
  co_return !ec;
}

struct peer {
  std::string address;  // what per-address limits count; "?" when unknown
  std::string remote;   // address and port, for the log
  std::optional<asio::ip::address> ip;
};

peer peer_of(const std::optional<tcp::endpoint>& ep) {
  if (!ep) return {"?", "?", std::nullopt};
  auto ip = ep->address();
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
  auto address = ip.to_string();
  auto remote = address + ":" + std::to_string(ep->port());
  return {std::move(address), std::move(remote), ip};
}

// Who sent this request when the peer is a trusted proxy: the client it names (the log then says
// "client via proxy:port"), decided per request, as a proxy carries many clients' requests on one
// connection.
peer client_behind(const server_settings& settings, const peer& proxy, const http::request_header<>& req) {
  std::vector<std::string_view> forwarded_for;
  for (const auto& field : boost::make_iterator_range(req.equal_range("X-Forwarded-For")))
    forwarded_for.push_back(field.value());
  const auto client = forwarded_client(*proxy.ip, forwarded_for, req["X-Real-IP"], settings.trusted_proxies);
  if (client == *proxy.ip) return proxy;
  auto address = client.to_string();
  return {address, address + " via " + proxy.remote, client};
}

std::string_view text_of(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

struct header_read {
  boost::system::error_code ec;  // the connection ended or timed out
  std::size_t size = 0;          // the section is the buffer's first `size` bytes; 0: over the limit
};

// Reads until the blank line that ends a header section. The raw bytes are kept so the rules
// that Beast's parser would smooth over (folding, which part is too long) can be checked.
asio::awaitable<header_read> read_header_section(beast::tcp_stream& stream, beast::flat_buffer& buffer) {
  for (std::size_t scanned = 0;;) {
    if (const auto end = header_section_end(text_of(buffer), scanned); end != 0)
      co_return header_read{{}, end <= limits.section ? end : 0};
    if (buffer.size() > limits.section) co_return header_read{};
    scanned = buffer.size() < 2 ? 0 : buffer.size() - 2;  // a blank line may straddle two reads
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(read_size), as_values);
    if (ec) co_return header_read{ec, 0};
    buffer.commit(n);
  }
}

// Says why, then hangs up: after a framing error nothing more on this connection can be trusted.
// What the client still sends is read and dropped for a moment before the socket closes: closing
// with unread bytes would reset the connection and could destroy the answer on its way.
asio::awaitable<void> refuse(beast::tcp_stream& stream, response answer) {
  if (!co_await write_response(stream, std::move(answer))) co_return;
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(1));
  std::array<char, 4096> sink;
  for (std::size_t drained = 0; drained < 1024 * 1024;) {
    auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(sink), as_values);
    if (read_ec) break;
    drained += n;
  }
}

asio::awaitable<void> refuse(beast::tcp_stream& stream, http::status status, std::string_view why) {
  co_await refuse(stream, make_response(status, std::string(why) + "\n", 11, false));
}

// A new connection past its address's rate: 429 before anything else is done for it.
asio::awaitable<bool> refused_for_rate(server_context& ctx, beast::tcp_stream& stream, const peer& from,
                                       core::steady_time now) {
  const auto verdict = ctx.connection_rate.on_connection(from.address, now);
  if (verdict.allowed) co_return false;
  ctx.metrics.connections_refused_rate.add();
  ctx.log.debug("connection from {} refused: over --connection-rate-per-address", from.remote);
  auto answer = make_response(http::status::too_many_requests, "too many new connections from your address\n", 11, false);
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(verdict.retry_after).count();
  answer.set(http::field::retry_after, std::to_string(std::max<long long>(1, seconds)));
  co_await refuse(stream, std::move(answer));
  co_return true;
}

bool is_quiet_end(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::eof;
}

http::status status_of(const boost::system::error_code& parse_error) {
  if (parse_error == http::error::body_limit) return http::status::payload_too_large;
  if (parse_error == http::error::header_limit) return http::status::request_header_fields_too_large;
  return http::status::bad_request;
}

// The session a request opens: a WebSocket upgrade of /ws/dashboard/{userId}, or a GET of
// /sse/dashboard/{userId}; nullopt for anything else.
std::optional<session_target> session_target_of(const request& req) {
  if (beast::websocket::is_upgrade(req)) return match_ws_target(req.target());
  if (req.method() == http::verb::get) return match_sse_target(req.target());
  return std::nullopt;
}

bool is_probe_target(std::string_view path) { return path == "/health" || path == "/ready"; }

// A plain request's answer. The operator's routes name users and load, so with an internal port
// they live there alone; the internal port serves nothing else but the probes.
asio::awaitable<response> answer(server_context& ctx, const request& req, listener port) {
  const std::string_view path = req.target().substr(0, req.target().find('?'));
  const bool ops_here = port == listener::internal_port || !ctx.settings.internal_port;
  if (is_ops_target(path) && ops_here) co_return co_await handle_ops_request(ctx, req, path);
  if (port == listener::internal_port && !is_probe_target(path))
    co_return make_response(http::status::not_found, "not found\n", req.version(), req.keep_alive());
  if (is_api_target(req.target())) co_return co_await handle_api_request(ctx, req);
  co_return handle_http_request(req, ctx);
}

}  // namespace

asio::awaitable<void> run_http_session(server_context& ctx, tcp::socket socket, std::optional<tcp::endpoint> peer_endpoint,
                                       listener port) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const auto from = peer_of(peer_endpoint);
  const auto& remote = from.remote;
  const bool from_proxy = from.ip && is_trusted(*from.ip, ctx.settings.trusted_proxies);
  for (bool first_request = true;; first_request = false) {
    // The first request is a handshake and gets the handshake deadline; later ones keep-alive.
    stream.expires_after(first_request ? ctx.settings.handshake_timeout
                                       : std::chrono::duration_cast<std::chrono::steady_clock::duration>(keep_alive_timeout));
    const auto head = co_await read_header_section(stream, buffer);
    const auto head_read = ctx.clock.steady_now();  // a WebSocket's handshake time counts from here
    if (head.ec) {
      if (!is_quiet_end(head.ec)) ctx.log.debug("read from {} failed: {}", remote, head.ec.message());
      co_return;
    }
    // A new connection counts once the client has spoken (a port scan's empty connections cost no
    // token), before anything else is done for it. A trusted proxy's connections carry many
    // clients: there each upgrade counts, for the client it names, once the header is parsed.
    if (first_request && !from_proxy && port == listener::public_port && ctx.connection_rate.enabled() && co_await refused_for_rate(ctx, stream, from, head_read))
      co_return;
    if (head.size == 0) {
      const auto verdict = oversize_verdict(text_of(buffer), limits);
      ctx.log.debug("request from {} refused: header section over {} bytes", remote, limits.section);
      co_await refuse(stream, status_of(verdict), "request too large");
      co_return;
    }
    if (const auto verdict = check_raw_header(text_of(buffer).substr(0, head.size), limits);
        verdict != request_verdict::ok) {
      ctx.log.debug("request from {} refused: {}", remote, static_cast<unsigned>(status_of(verdict)));
      co_await refuse(stream, status_of(verdict), "bad request");
      co_return;
    }

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.section + 1));
    parser.body_limit(ctx.settings.max_ingest_bytes);  // only ingest takes a body; others have none
    boost::system::error_code ec;
    parser.put(asio::buffer(buffer.data().data(), head.size), ec);
    buffer.consume(head.size);
    if (!ec && !parser.is_header_done()) ec = http::error::partial_message;
    if (ec) {
      ctx.log.debug("bad request from {}: {}", remote, ec.message());
      if (ec == http::error::body_limit && is_ingest_target(parser.get().target()))
        ctx.metrics.ingest_answered(static_cast<unsigned>(status_of(ec)));
      co_await refuse(stream, status_of(ec), "bad request");
      co_return;
    }
    if (check_framing(parser.get(), parser.chunked()) != request_verdict::ok) {
      ctx.log.debug("bad request from {}: ambiguous framing or Host", remote);
      co_await refuse(stream, http::status::bad_request, "bad request");
      co_return;
    }
    const auto client = from_proxy ? client_behind(ctx.settings, from, parser.get()) : from;
    const bool opens_session = beast::websocket::is_upgrade(parser.get()) || match_sse_target(parser.get().target());
    if (from_proxy && opens_session && ctx.connection_rate.enabled() &&
        co_await refused_for_rate(ctx, stream, client, head_read))
      co_return;
    if (!parser.is_done()) {
      // curl and others wait for this before they send a body; the verdict comes after it.
      if (parser.get().version() >= 11 && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [write_ec, n] = co_await asio::async_write(stream, asio::buffer(go_on), as_values);
        (void)n;
        if (write_ec) co_return;
      }
      auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, as_values);
      (void)n;
      if (read_ec) {
        if (is_quiet_end(read_ec)) co_return;
        ctx.log.debug("bad request body from {}: {}", remote, read_ec.message());
        if (is_ingest_target(parser.get().target())) ctx.metrics.ingest_answered(static_cast<unsigned>(status_of(read_ec)));
        co_await refuse(stream, status_of(read_ec), "bad request");
        co_return;
      }
    }
    request req = parser.release();
    auto target = port == listener::public_port ? session_target_of(req) : std::nullopt;
    if (target) {
      if (auto refusal = refuse_early(ctx, req, client.remote)) {
        co_await write_response(stream, std::move(*refusal));
        co_return;
      }
      // The session gets its own coroutine and only the socket, so this frame, the parser, the
      // read buffer and tcp_stream's timers are freed for the session's whole life.
      stream.expires_never();
      const bool upgrade = beast::websocket::is_upgrade(req);
      auto session = upgrade ? run_ws_session(ctx, stream.release_socket(), std::move(req), std::move(*target), client.remote, head_read)
                             : run_sse_session(ctx, stream.release_socket(), std::move(req), std::move(*target), client.remote, head_read);
      asio::co_spawn(stream.get_executor(), std::move(session), report_failure(ctx));
      co_return;
    }
    response res = co_await answer(ctx, req, port);
    // HEAD: the GET's headers (its Content-Length included), without the body.
    if (req.method() == http::verb::head) res.body().clear();
    const bool keep_alive = res.keep_alive();
    if (!co_await write_response(stream, std::move(res))) co_return;
    if (!keep_alive) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

}  // namespace dh::net
