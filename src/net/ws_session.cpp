#include "net/ws_session.hpp"

#include "net/gathering_stream.hpp"
#include "net/session_actions.hpp"
#include "net/session_handshake.hpp"

#include "core/outbox.hpp"
#include "core/session_core.hpp"
#include "protocol/messages.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <fmt/format.h>

namespace dh::net {

namespace {

namespace websocket = beast::websocket;
// Over the socket with gathered writes; not Beast's tcp_stream, which would add two timers per
// connection that the session never uses (its timer does liveness, Beast's the handshakes).
using ws_stream = websocket::stream<gathering_stream>;
using protocol::errc;
using protocol::failure;

// An idle connection keeps one read pending, and that read owns a buffer of this size: small,
// because Beast reads the socket into its own buffer first and the contract's messages (ping,
// subscribe, ack) fit. A larger one, such as refresh_token, is read in several chunks.
constexpr std::size_t read_chunk = 128;

// Frames are gathered into one send up to this many bytes; more would only cost memory.
constexpr std::size_t max_gathered_bytes = 64 * 1024;

// The WebSocket side of a session: Beast's stream over the socket. Every decision is the core's
// (core/session_core.hpp), every common action session_actions'; this carries Beast's events to
// the core. An idle connection costs this object, the suspended reader and two callbacks (the
// writer's wait in the outbox and the timer's): no coroutine waits on another.
struct session final : session_base {
  session(server_context& c, ws_stream stream, core::session_identity who, std::string from, core::steady_time connected,
          std::shared_ptr<core::outbox> queue, open_session_count open)
      : session_base(c, stream.get_executor(), core::transport::websocket, std::move(who), std::move(from), connected,
                     std::move(queue), std::move(open)),
        ws(std::move(stream)) {}

  void drop_socket() override {
    cancel_read.emit(asio::cancellation_type::terminal);
    cancel_close.emit(asio::cancellation_type::terminal);
    boost::system::error_code ignored;
    ws.next_layer().socket().close(ignored);
  }
  void release() override { ws.control_callback(); }  // it holds a raw pointer to this
  asio::awaitable<burst_end> write_burst(core::outbound first) override;

  ws_stream ws;
  // Dropping the socket ends the pending read and close: Beast 1.81 can leave them waiting on each
  // other (a protocol error read while our close awaits the peer's), and closing the socket wakes neither.
  asio::cancellation_signal cancel_read, cancel_close;
};

using session_ptr = std::shared_ptr<session>;

// --- the reader ------------------------------------------------------------------------------

enum class read_outcome { message, oversize, closed };

// One step of reading a message: whether the message is complete, too big, or the stream ended.
std::optional<read_outcome> after_chunk(session& s, const beast::flat_buffer& buffer, boost::system::error_code ec) {
  if (ec) {
    if (ec != websocket::error::closed && ec != asio::error::operation_aborted)
      s.ctx.log.debug("session {} read ended: {}", s.id(), ec.message());
    return read_outcome::closed;
  }
  if (buffer.size() > s.ctx.settings.max_message_bytes) return read_outcome::oversize;
  if (s.ws.is_message_done()) return read_outcome::message;
  return std::nullopt;
}

core::actions on_read(session& s, read_outcome outcome, const beast::flat_buffer& buffer) {
  if (outcome == read_outcome::oversize)
    return s.core.on_bad_frame({errc::message_too_big, fmt::format("message exceeds {} bytes", s.ctx.settings.max_message_bytes), {}});
  if (!s.ws.got_text()) return s.core.on_bad_frame({errc::invalid_message, "binary frames are not accepted; send JSON text", {}});
  const auto data = buffer.cdata();
  return s.core.on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
}

// Reads in chunks so an oversized message is refused after max_message_bytes, not after
// buffering whatever length the peer claims.
asio::awaitable<void> read_loop(session_ptr s) {
  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    std::optional<read_outcome> outcome;
    while (!outcome) {
      auto [ec, n] = co_await s->ws.async_read_some(buffer, read_chunk, asio::bind_cancellation_slot(s->cancel_read.slot(), as_values));
      (void)n;
      outcome = after_chunk(*s, buffer, ec);
    }
    if (*outcome == read_outcome::closed) break;
    carry_out(s, on_read(*s, *outcome, buffer));
    if (buffer.capacity() > 4 * read_chunk) buffer.shrink_to_fit();  // a big message's buffer is not kept
  }
  carry_out(s, s->core.on_read_end());
}

// --- the writer: the stream's only writer, so one write is in flight by construction ----------

asio::awaitable<bool> write_frame(session& s, const core::frame& data, const core::frame_tag& tag) {
  auto [ec, n] = co_await s.ws.async_write(asio::buffer(*data), as_values);
  (void)n;
  if (ec) co_return false;
  s.core.on_written();
  s.ctx.metrics.server_out(tag.type);
  if (tag.accepted != core::wall_time{}) s.ctx.metrics.delivery_latency.observe(s.ctx.clock.wall_now() - tag.accepted);
  co_return true;
}

// The last frame (the error envelope), then the close frame; true when the peer answered it.
asio::awaitable<bool> write_close(session& s, core::close_request request) {
  s.ws.next_layer().gather(false);
  if (request.last_frame && !co_await write_frame(s, request.last_frame, {request.last_type, {}})) co_return false;
  websocket::close_reason reason(static_cast<websocket::close_code>(request.code), request.reason);
  auto [ec] = co_await s.ws.async_close(reason, asio::bind_cancellation_slot(s.cancel_close.slot(), as_values));
  co_return !ec;
}

using writer_end = core::session_core::writer_end;

// While another frame is already queued this one is only gathered; the burst's last write sends them all.
asio::awaitable<burst_end> session::write_burst(core::outbound first) {
  std::optional<core::outbound> next = std::move(first);
  for (;;) {
    if (auto request = out->take_close_request())
      co_return co_await write_close(*this, std::move(*request)) ? writer_end::closed : writer_end::close_failed;
    auto item = next ? std::exchange(next, std::nullopt) : out->try_receive();
    if (!item) co_return std::nullopt;
    next = out->try_receive();
    const bool more = next && next->what != core::outbound::kind::wake;
    ws.next_layer().gather(more && ws.next_layer().pending_bytes() < max_gathered_bytes);
    bool written = true;
    if (item->what == core::outbound::kind::frame) {
      written = co_await write_frame(*this, item->data, item->tag);
    } else if (item->what == core::outbound::kind::ping) {
      auto [ec] = co_await ws.async_ping({}, as_values);
      written = !ec;
    }
    if (!written) co_return writer_end::write_failed;
  }
}

void start(const session_ptr& s) {
  // The session owns the stream, so the raw pointer outlives the callback (release() clears it).
  s->ws.control_callback([raw = s.get()](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::close)  // Beast answers it; the read ends when the peer's TCP side does
      carry_out(raw->shared_from_this(), raw->core.on_peer_close(static_cast<std::uint16_t>(raw->ws.reason().code)));
    else
      carry_out(raw->shared_from_this(), raw->core.on_pong());
  });
  start_session(s, read_loop(s));
}

// --- before the session: handshake and admission ----------------------------------------------

// Sends the error envelope and the close code to a connection that never joined the hub.
// Coroutine parameters are taken by value: GCC 12 mishandles temporaries bound to references
// across a co_await.
asio::awaitable<void> reject(ws_stream& ws, const server_context& ctx, failure f, std::string remote) {
  const auto& info = protocol::info(f.code);
  ctx.log.info("upgrade from {} refused: {} ({})", remote, info.code, f.message);
  ctx.metrics.error_sent(f.code);
  ctx.metrics.closed(info.close_code);
  auto text = protocol::encode_error(f, ctx.clock.wall_now());
  if (auto [ec, n] = co_await ws.async_write(asio::buffer(text), as_values); ec) co_return;
  ctx.metrics.server_out(core::server_message::error);
  auto [ec] = co_await ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(info.close_code), info.code), as_values);
  (void)ec;
}

void configure(ws_stream& ws, const server_context& ctx) {
  // Our own timer does pings and idle; Beast only bounds the opening and closing handshakes.
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = ctx.settings.handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) { res.set(http::field::server, "dashboard-hub"); }));
  ws.auto_fragment(false);
}

}  // namespace

asio::awaitable<void> run_ws_session(server_context& ctx, tcp::socket socket, request upgrade, session_target target,
                                     std::string remote, core::steady_time started) {
  open_session_count counted(ctx.open_sessions);
  ws_stream ws(std::move(socket));
  configure(ws, ctx);
  // The 101 is held and goes out with connection_success (or the refusal) in one send: one
  // syscall and one segment less per handshake, and the client learns the outcome at once.
  ws.next_layer().gather(true);
  if (auto [ec] = co_await ws.async_accept(upgrade, as_values); ec) {
    ctx.log.debug("websocket handshake with {} failed: {}", remote, ec.message());
    auto [flush_ec] = co_await ws.next_layer().async_flush(as_values);  // Beast's error response
    (void)flush_ec;
    co_return;
  }
  ws.next_layer().gather(false);  // the next write carries the held 101
  ws.text(true);

  auto who = identify(ctx, upgrade, target, ctx.hub.new_session_id());
  if (!who) co_return co_await reject(ws, ctx, who.error(), remote);
  // What follows may wait on a remote backend: its 101 goes out now.
  if (!ctx.settings.upgrade_with_first_frame) {
    if (auto [ec] = co_await ws.next_layer().async_flush(as_values); ec) co_return;  // the peer is gone
  }
  auto out = std::make_shared<core::outbox>(ws.get_executor(), ctx.settings.outbox_capacity, ctx.settings.outbox_max_bytes);
  const auto outcome = co_await admit(ctx, *who, out);
  if (outcome == admission_outcome::shutting_down) {
    ctx.metrics.closed(1001);
    auto [ec] = co_await ws.async_close(websocket::close_code::going_away, as_values);
    (void)ec;
    co_return;
  }
  if (outcome != admission_outcome::admitted) co_return co_await reject(ws, ctx, refusal_of(ctx, outcome), remote);
  if (who->resume_from) who->recovered = co_await history_covers(ctx, who->user_id, *who->resume_from);

  auto s = std::make_shared<session>(ctx, std::move(ws), std::move(*who), std::move(remote), started, std::move(out),
                                     std::move(counted));
  log_session_open(*s);
  start(s);
}

}  // namespace dh::net
