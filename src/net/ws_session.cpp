#include "net/ws_session.hpp"

#include "net/gathering_stream.hpp"

#include "core/liveness.hpp"
#include "core/outbox.hpp"
#include "core/rate_limiter.hpp"
#include "protocol/messages.hpp"
#include "protocol/user_id.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <fmt/format.h>

#include <algorithm>

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

// Everything one connection owns, on the heap and shared by its parts: the reader and writer
// coroutines, the timer's handler and the close notification. All of them run on the
// connection's executor (one thread or a strand), so plain members need no locking. Nothing
// else lives per connection: no coroutine waits on the others, so an idle connection costs
// this object, Beast's stream, the suspended reader and two callbacks (the writer's wait in the
// outbox and the timer's).
struct session {
  session(server_context& c, tcp::socket socket, std::string from, core::steady_time connected)
      : ctx(c),
        ws(std::move(socket)),
        id(c.hub.new_session_id()),
        remote(std::move(from)),
        out(std::make_shared<core::outbox>(ws.get_executor(), c.settings.outbox_capacity,
                                           c.settings.outbox_max_bytes)),
        limiter(c.settings.rate_limit, c.clock.steady_now()),
        live(c.settings.liveness, c.clock.steady_now()),
        timer(ws.get_executor()),
        connected_at(connected),
        counted(c.open_sessions) {}

  server_context& ctx;
  ws_stream ws;
  std::string user_id;
  std::uint64_t id;
  std::string session_id;
  std::string remote;
  std::shared_ptr<core::outbox> out;
  core::rate_limiter limiter;
  core::liveness live;
  asio::steady_timer timer;  // the liveness deadlines; once a close is requested, its grace
  // When the close grace runs out these end the pending read and close: Beast 1.81 can leave
  // them waiting on each other (a protocol error read while our close awaits the peer's), and
  // closing the socket wakes neither.
  asio::cancellation_signal cancel_read, cancel_close;
  std::optional<core::steady_time> close_deadline;
  std::optional<std::uint64_t> resume_from;  // ?lastEventId=, used by the first subscribe without one
  int loops_running = 0;
  bool stopped = false;
  bool slot_released = false;  // the hub no longer counts this session against its user's limit
  bool close_completed = false;  // our close frame went out and the peer answered it
  bool peer_sent_close = false;  // a close frame arrived (with or without a code)
  core::steady_time connected_at;  // the upgrade request was read: handshake time, duration
  std::uint32_t messages_in = 0;   // for the access log
  std::uint32_t messages_out = 0;
  // The socket closes with this object, after admission or after both loops: a drain waits for it.
  // The counter is shared, so a session destroyed with the io_context after the server is gone
  // touches nothing freed.
  struct open_count {
    explicit open_count(std::shared_ptr<std::atomic<std::size_t>> n) : count(std::move(n)) { count->fetch_add(1); }
    ~open_count() { count->fetch_sub(1); }
    open_count(const open_count&) = delete;
    open_count& operator=(const open_count&) = delete;
    std::shared_ptr<std::atomic<std::size_t>> count;
  } counted;
};

core::steady_time token_deadline(const server_context& ctx, core::wall_time expires_at) {
  // `exp` is wall time; the session's timers are steady, so carry the remaining lifetime over.
  const auto remaining = expires_at + ctx.jwt.settings().leeway - ctx.clock.wall_now();
  return ctx.clock.steady_now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining);
}

// Once a session's end has begun (a close requested or received, EOF, an error) it no longer
// holds one of its user's connection slots: a page reload must find the slot free.
void release_slot(session& s) {
  if (s.slot_released || s.user_id.empty()) return;
  s.slot_released = true;
  s.ctx.admission.release(s.user_id, s.id);
  s.ctx.hub.leave(s.user_id, s.id);
}

void stop(session& s) {
  if (s.stopped) return;
  s.stopped = true;
  s.out->shut_down();
  s.timer.cancel();
}

void drop_connection(session& s) {
  boost::system::error_code ignored;
  s.ws.next_layer().socket().close(ignored);  // unblocks a pending read or write
}

void fail(session& s, failure f, std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
  const auto& info = protocol::info(f.code);
  s.ctx.log.info("session {} user={} error {}: {}", s.session_id, s.user_id, info.code, f.message);
  auto text = protocol::encode_error(f, s.ctx.clock.wall_now(), retry_after);
  if (s.out->request_close({info.close_code, core::make_frame(std::move(text)), std::string(info.code)}))
    s.ctx.metrics.error_sent(f.code);
  s.timer.cancel();  // the timer now guards the close: see on_timer
}

void send(session& s, std::string text, core::server_message type) {
  if (s.out->push(core::make_frame(std::move(text)), {type, {}}) == core::outbox::push_result::full)
    fail(s, {errc::slow_consumer, "outbound queue is full", {}});
}

// An error that leaves the connection open (close code 0 in the contract's table, or a dropped
// message).
void send_error(session& s, failure f, std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
  s.ctx.metrics.error_sent(f.code);
  send(s, protocol::encode_error(f, s.ctx.clock.wall_now(), retry_after), core::server_message::error);
}

// --- the reader ------------------------------------------------------------------------------

enum class read_outcome { message, oversize, closed };

// One step of reading a message: whether the message is complete, too big, or the stream ended.
std::optional<read_outcome> after_chunk(session& s, const beast::flat_buffer& buffer, boost::system::error_code ec) {
  if (ec) {
    if (ec != websocket::error::closed && ec != asio::error::operation_aborted)
      s.ctx.log.debug("session {} read ended: {}", s.session_id, ec.message());
    return read_outcome::closed;
  }
  if (buffer.size() > s.ctx.settings.max_message_bytes) return read_outcome::oversize;
  if (s.ws.is_message_done()) return read_outcome::message;
  return std::nullopt;
}

void handle(session& s, protocol::ping& m) {
  send(s, protocol::encode_pong(m.payload, s.ctx.clock.wall_now()), core::server_message::pong);
}

void handle(session& s, protocol::subscribe_dashboard& m) {
  if (m.user_id != s.user_id) {
    send_error(s, {errc::subscription_failed, "you can only subscribe to your own dashboard", "subscribe_dashboard"});
    return;
  }
  // `subscribed` is queued before the hub queues replay and dashboard_update, so they arrive in order.
  send(s, protocol::encode_subscribed(s.user_id, s.ctx.clock.wall_now()), core::server_message::subscribed);
  auto after = m.last_event_id ? m.last_event_id : std::exchange(s.resume_from, std::nullopt);
  s.ctx.hub.subscribe(s.user_id, s.id, m.batch, after);
}

void handle(session& s, protocol::unsubscribe_dashboard& m) {
  if (m.user_id != s.user_id) {
    send_error(s, {errc::subscription_failed, "you can only unsubscribe from your own dashboard",
                   "unsubscribe_dashboard"});
    return;
  }
  s.ctx.hub.unsubscribe(s.user_id, s.id);
  send(s, protocol::encode_unsubscribed(s.user_id, s.ctx.clock.wall_now()), core::server_message::unsubscribed);
}

void handle(session& s, protocol::ack& m) {
  s.ctx.hub.ack(s.user_id, s.id, *std::max_element(m.ids.begin(), m.ids.end()));
}

void handle(session& s, protocol::refresh_token& m) {
  auto verified = s.ctx.jwt.verify(m.token, s.ctx.clock.wall_now());
  if (!verified) {
    auto f = verified.error();
    f.request_type = "refresh_token";
    fail(s, std::move(f));
    return;
  }
  if (verified->subject != s.user_id) {
    fail(s, {errc::auth_invalid, "refreshed token is for another user", "refresh_token"});
    return;
  }
  s.live.set_token_deadline(token_deadline(s.ctx, verified->expires_at));
  s.timer.cancel();  // the timer re-arms for the new deadline
}

core::client_message kind_of(const protocol::ping&) { return core::client_message::ping; }
core::client_message kind_of(const protocol::subscribe_dashboard&) { return core::client_message::subscribe_dashboard; }
core::client_message kind_of(const protocol::unsubscribe_dashboard&) { return core::client_message::unsubscribe_dashboard; }
core::client_message kind_of(const protocol::ack&) { return core::client_message::ack; }
core::client_message kind_of(const protocol::refresh_token&) { return core::client_message::refresh_token; }

void on_message(session& s, std::string_view text) {
  ++s.messages_in;
  const auto verdict = s.limiter.on_message(s.ctx.clock.steady_now());
  if (verdict.what == core::rate_limiter::verdict::close) {
    fail(s, {errc::rate_limited, "message rate limit exceeded repeatedly", {}}, verdict.retry_after);
    return;
  }
  if (verdict.what == core::rate_limiter::verdict::drop) {
    send_error(s, {errc::rate_limited, "message dropped: rate limit exceeded", {}}, verdict.retry_after);
    return;
  }
  auto decoded = protocol::decode_client_message(text);
  if (!decoded) {
    fail(s, decoded.error());
    return;
  }
  std::visit(
      [&s](auto& m) {
        s.ctx.metrics.client_in(kind_of(m));
        handle(s, m);
      },
      *decoded);
}

asio::awaitable<void> read_loop(session& s) {
  beast::flat_buffer buffer;
  for (;;) {
    // Read in chunks so an oversized message is refused after max_message_bytes, not after
    // buffering whatever length the peer claims. Inline, not a nested coroutine: one frame less
    // per idle connection.
    buffer.clear();
    std::optional<read_outcome> outcome;
    while (!outcome) {
      auto [ec, n] = co_await s.ws.async_read_some(buffer, read_chunk,
                                                   asio::bind_cancellation_slot(s.cancel_read.slot(), as_values));
      (void)n;
      outcome = after_chunk(s, buffer, ec);
    }
    if (*outcome == read_outcome::closed) {
      release_slot(s);
      break;
    }
    s.live.on_client_message(s.ctx.clock.steady_now());
    // After a close request we keep reading only so the close handshake can complete.
    if (s.out->close_requested()) continue;
    if (*outcome == read_outcome::oversize) {
      fail(s, {errc::message_too_big,
               fmt::format("message exceeds {} bytes", s.ctx.settings.max_message_bytes), {}});
    } else if (!s.ws.got_text()) {
      fail(s, {errc::invalid_message, "binary frames are not accepted; send JSON text", {}});
    } else {
      const auto data = buffer.cdata();
      on_message(s, std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    if (buffer.capacity() > 4 * read_chunk) buffer.shrink_to_fit();  // a big message's buffer is not kept
  }
  stop(s);
}

// --- the writer: the stream's only writer, so one write is in flight by construction ----------

// A frame written: counted by type, and an update that ingest caused adds its latency.
void count_written(session& s, const core::frame_tag& tag) {
  ++s.messages_out;
  s.ctx.metrics.server_out(tag.type);
  if (tag.accepted != core::wall_time{}) s.ctx.metrics.delivery_latency.observe(s.ctx.clock.wall_now() - tag.accepted);
}

asio::awaitable<bool> write_item(session& s, const core::outbound& item) {
  boost::system::error_code ec;
  if (item.what == core::outbound::kind::frame) {
    std::tie(ec, std::ignore) = co_await s.ws.async_write(asio::buffer(*item.data), as_values);
    if (!ec) count_written(s, item.tag);
  } else if (item.what == core::outbound::kind::ping) {
    std::tie(ec) = co_await s.ws.async_ping({}, as_values);
  }
  co_return !ec;
}

asio::awaitable<void> close_with(session& s, const core::close_request& request) {
  if (request.last_frame) {
    auto [ec, n] = co_await s.ws.async_write(asio::buffer(*request.last_frame), as_values);
    (void)n;
    if (ec) co_return;
    count_written(s, {request.last_type, {}});
  }
  websocket::close_reason reason(static_cast<websocket::close_code>(request.code), request.reason);
  auto [ec] = co_await s.ws.async_close(reason, asio::bind_cancellation_slot(s.cancel_close.slot(), as_values));
  s.close_completed = !ec;  // else the peer is gone or stuck; the connection ends either way
}

bool writes_bytes(const std::optional<core::outbound>& item) {
  return item && item->what != core::outbound::kind::wake;
}

// Writes what the outbox holds, starting with `first`, until it is empty (true: wait for more) or
// the writer is done: the close is sent or a write failed (false).
asio::awaitable<bool> write_burst(session& s, core::outbound first) {
  std::optional<core::outbound> next = std::move(first);
  for (;;) {
    if (auto request = s.out->take_close_request()) {
      s.ws.next_layer().gather(false);
      co_await close_with(s, *request);
      stop(s);
      co_return false;
    }
    // Drain what is queued before waiting again: a burst costs one wake-up, and while another
    // frame is already queued this one is only gathered; the burst's last write sends them all.
    auto item = next ? std::exchange(next, std::nullopt) : s.out->try_receive();
    if (!item) co_return true;
    next = s.out->try_receive();
    s.ws.next_layer().gather(writes_bytes(next) && s.ws.next_layer().pending_bytes() < max_gathered_bytes);
    if (!co_await write_item(s, *item)) {
      drop_connection(s);
      stop(s);
      co_return false;
    }
  }
}

void on_loop_end(std::shared_ptr<session> s, std::exception_ptr e);

// The writer runs only while there is something to send. An empty outbox holds this callback,
// not a suspended coroutine: an idle connection keeps no writer frames (about a kilobyte).
void await_output(std::shared_ptr<session> s) {
  auto& out = *s->out;
  out.async_receive([s = std::move(s)](std::optional<core::outbound> item) mutable {
    if (!item) {  // shut down: the reader has ended or the session failed
      stop(*s);
      on_loop_end(std::move(s), nullptr);
      return;
    }
    auto& session = *s;
    asio::co_spawn(session.ws.get_executor(), write_burst(session, std::move(*item)),
                   [s = std::move(s)](std::exception_ptr e, bool drained) mutable {
                     if (!e && drained)
                       await_output(std::move(s));
                     else
                       on_loop_end(std::move(s), e);
                   });
  });
}

// --- the timer: a callback, not a coroutine, so an idle connection keeps no frame for it -------

void on_timer(const std::shared_ptr<session>& s);

void arm_timer(std::shared_ptr<session> s) {
  auto& timer = s->timer;
  timer.expires_at(s->close_deadline ? *s->close_deadline : s->live.next_deadline());
  timer.async_wait([s = std::move(s)](boost::system::error_code) { on_timer(s); });
}

// Runs at each deadline and whenever the timer is cancelled to look again (a refreshed token, a
// close request). Before a close request it does pings, idle and token expiry; after one, the
// close must finish within close_grace even when the peer stopped reading and the writer is
// stuck: then the socket is closed under it.
void on_timer(const std::shared_ptr<session>& s) {
  using action = core::liveness::action;
  if (s->stopped) return;
  const auto now = s->ctx.clock.steady_now();
  if (!s->out->close_requested()) {
    switch (s->live.poll(now)) {
      case action::none: break;
      case action::send_ping:
        if (s->out->push_ping() == core::outbox::push_result::full) fail(*s, {errc::slow_consumer, "outbound queue is full", {}});
        break;
      case action::token_expired: fail(*s, {errc::auth_expired, {}, {}}); break;
      case action::unresponsive: fail(*s, {errc::idle_timeout, "no pong to two pings", {}}); break;
      case action::idle_timeout: fail(*s, {errc::idle_timeout, {}, {}}); break;
    }
  }
  if (s->out->close_requested()) {
    if (!s->close_deadline) {
      s->close_deadline = now + s->ctx.settings.close_grace;
    } else if (now >= *s->close_deadline) {
      const auto [code, reason] = s->out->requested_close();
      s->ctx.log.info("session {} user={} did not finish closing ({} {}); dropping it", s->session_id, s->user_id,
                      code, reason);
      s->cancel_read.emit(asio::cancellation_type::terminal);
      s->cancel_close.emit(asio::cancellation_type::terminal);
      drop_connection(*s);
      return;
    }
  }
  arm_timer(s);
}

// --- admission -------------------------------------------------------------------------------------

// Sends the error envelope and the close code to a connection that never joined the hub.
// Coroutine parameters are taken by value: GCC 12 mishandles temporaries bound to references
// across a co_await.
asio::awaitable<void> reject(ws_stream& ws, const server_context& ctx, failure f, std::string remote) {
  const auto& info = protocol::info(f.code);
  ctx.log.info("upgrade from {} refused: {} ({})", remote, info.code, f.message);
  ctx.metrics.error_sent(f.code);
  ctx.metrics.closed(info.close_code);
  auto text = protocol::encode_error(f, ctx.clock.wall_now());
  auto [ec, n] = co_await ws.async_write(asio::buffer(text), as_values);
  (void)n;
  if (ec) co_return;
  ctx.metrics.server_out(core::server_message::error);
  auto [close_ec] = co_await ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(info.close_code), info.code), as_values);
  (void)close_ec;
}

// Whether history still holds every event after `after`, for connection_success.recovered.
asio::awaitable<bool> history_covers(server_context& ctx, std::string user, std::uint64_t after) {
  try {
    const auto now = ctx.clock.wall_now();
    auto page = co_await ctx.events.history(user, after, 0, now);
    co_return page.complete;
  } catch (const core::store_error& e) {
    ctx.log.error("store failed checking history for user={}: {}", user, e.what());
    co_return false;
  }
}

boost::system::result<protocol::verified_token, failure> authenticate(const server_context& ctx, const request& req,
                                                                      const ws_target& target) {
  if (!protocol::is_valid_user_id(target.user_id))
    return failure{errc::user_not_found, "userId must match [A-Za-z0-9._-]{1,64}", {}};
  const auto token = bearer_token(req, target);
  if (token.empty()) return failure{errc::auth_invalid, "missing token", {}};
  auto verified = ctx.jwt.verify(token, ctx.clock.wall_now());
  if (!verified) return verified.error();
  if (verified->subject != target.user_id)
    return failure{errc::auth_invalid, "token subject does not match the userId in the path", {}};
  return verified;
}

void configure(ws_stream& ws, const server_context& ctx) {
  // Our own timer does pings and idle; Beast only bounds the opening and closing handshakes.
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = ctx.settings.handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "dashboard-hub"); }));
  ws.auto_fragment(false);
}

// --- the running session ---------------------------------------------------------------------

// Everything a closed connection still owes: leave the hub and log. Runs once, after both loops.
// The close code is ours when the server ended the session, logged with its reason even when a
// peer that stopped reading never got the frame (the handshake then never completes); else the
// peer's (0: the connection just ended).
void finish(session& s) {
  s.ws.control_callback();
  release_slot(s);
  const auto [requested, reason] = s.out->requested_close();
  // Else the peer's code: 1005 for a close frame without one, 1006 for no close frame at all.
  const auto peer_code = static_cast<std::uint16_t>(s.ws.reason().code);
  const std::uint16_t code = requested != 0 ? requested
                             : peer_code != 0 ? peer_code
                             : s.peer_sent_close ? std::uint16_t{1005}
                                                 : std::uint16_t{1006};
  s.ctx.metrics.closed(code);
  const auto lived = std::chrono::duration<double>(s.ctx.clock.steady_now() - s.connected_at).count();
  s.ctx.log.info("session {} user={} closed code={}{}{} by={} from={} duration={:.3f}s messages_in={} messages_out={}",
                 s.session_id, s.user_id, code, requested != 0 ? fmt::format(" reason={}", reason) : std::string(),
                 requested != 0 && !s.close_completed ? " (close handshake not completed)" : "",
                 requested != 0 ? "server" : "client", s.remote, lived, s.messages_in, s.messages_out);
}

// The end of the reader and of the writer: each holds the session alive while it runs (or, the
// writer, waits); the second to end finishes the session.
void on_loop_end(std::shared_ptr<session> s, std::exception_ptr e) {
  if (e) {
    s->ctx.log.error("INTERNAL_ERROR session {} user={}: {}", s->session_id, s->user_id, core::describe(e));
    stop(*s);
    drop_connection(*s);
  }
  if (--s->loops_running == 0) finish(*s);
}

void start(const std::shared_ptr<session>& s) {
  // The session owns the stream, so the raw pointer outlives the callback (finish() clears it).
  s->ws.control_callback([raw = s.get()](websocket::frame_type kind, beast::string_view) {
    // A close frame: Beast answers it, but its read ends only when the peer's TCP side does.
    if (kind == websocket::frame_type::close) {
      raw->peer_sent_close = true;
      release_slot(*raw);
    }
    else
      raw->live.on_pong(raw->ctx.clock.steady_now());
  });
  const auto executor = s->ws.get_executor();
  s->loops_running = 2;
  asio::co_spawn(executor, read_loop(*s), [s](std::exception_ptr e) { on_loop_end(s, e); });
  await_output(s);
  // A close requested from another thread (the hub: slow consumer, shutdown) starts the grace.
  s->out->on_close_requested([s] {
    release_slot(*s);
    if (!s->stopped) s->timer.cancel();
  });
  arm_timer(s);
}

}  // namespace

// The admission: handshake, token, the hub's connection limit. Then the session runs on its own
// (start) and this coroutine's frame is freed.
asio::awaitable<void> run_ws_session(server_context& ctx, tcp::socket socket, request upgrade, ws_target target,
                                     std::string remote, core::steady_time started) {
  auto s = std::make_shared<session>(ctx, std::move(socket), std::move(remote), started);
  configure(s->ws, ctx);
  // The 101 is held and goes out with connection_success (or the refusal) in one send: one
  // syscall and one segment less per handshake, and the client learns the outcome at once.
  s->ws.next_layer().gather(true);
  if (auto [ec] = co_await s->ws.async_accept(upgrade, as_values); ec) {
    ctx.log.debug("websocket handshake with {} failed: {}", s->remote, ec.message());
    auto [flush_ec] = co_await s->ws.next_layer().async_flush(as_values);  // Beast's error response
    (void)flush_ec;
    co_return;
  }
  s->ws.next_layer().gather(false);  // the next write carries the held 101
  s->ws.text(true);

  auto verified = authenticate(ctx, upgrade, target);
  if (!verified) {
    failure f = verified.error();
    co_await reject(s->ws, ctx, std::move(f), s->remote);
    co_return;
  }
  if (target.last_event_id) {
    s->resume_from = protocol::parse_event_id(*target.last_event_id);
    if (!s->resume_from) {
      failure f{errc::invalid_message, "lastEventId must be a string of decimal digits", {}};
      co_await reject(s->ws, ctx, std::move(f), s->remote);
      co_return;
    }
  }
  s->user_id = std::move(target.user_id);
  s->session_id = fmt::format("{:016x}", ctx.hub.instance_nonce() ^ s->id);
  s->live.set_token_deadline(token_deadline(ctx, verified->expires_at));

  // What follows may wait on a remote backend: its 101 goes out now.
  if (!ctx.settings.upgrade_with_first_frame) {
    if (auto [ec] = co_await s->ws.next_layer().async_flush(as_values); ec) co_return;  // the peer is gone
  }
  bool admitted = false;
  bool leases_unavailable = false;
  try {
    admitted = co_await ctx.admission.acquire(s->user_id, s->id);
  } catch (const core::store_error& e) {
    // Redis mode with Redis unreachable: no lease can be taken, so no session is opened; the
    // client's reconnect with backoff finds it back.
    ctx.log.warn("connection leases unavailable for user={}: {}", s->user_id, e.what());
    leases_unavailable = true;
  }
  if (leases_unavailable) {
    failure f{errc::internal_error, "the cluster store is unreachable; reconnect shortly", {}};
    co_await reject(s->ws, ctx, std::move(f), s->remote);
    co_return;
  }
  if (!admitted) {
    failure f{errc::connection_limit,
              fmt::format("user already has {} connections", ctx.settings.admission.max_per_user), {}};
    co_await reject(s->ws, ctx, std::move(f), s->remote);
    co_return;
  }
  const auto joined = co_await ctx.hub.join(s->user_id, s->id, s->out);
  if (joined == core::hub::join_result::shutting_down) {
    release_slot(*s);
    ctx.metrics.closed(1001);
    auto [ec] = co_await s->ws.async_close(websocket::close_code::going_away, as_values);
    (void)ec;
    co_return;
  }

  const auto heartbeat = std::chrono::duration_cast<std::chrono::seconds>(ctx.settings.liveness.ping_interval);
  bool recovered = false;
  if (s->resume_from) recovered = co_await history_covers(ctx, s->user_id, *s->resume_from);
  send(*s,
       protocol::encode_connection_success(s->user_id, s->session_id, heartbeat.count(), recovered, ctx.clock.wall_now()),
       core::server_message::connection_success);
  const auto handshake = ctx.clock.steady_now() - s->connected_at;
  ctx.metrics.handshake_time.observe(handshake);
  ctx.log.info("session {} user={} opened from {} after {:.1f} ms", s->session_id, s->user_id, s->remote,
               std::chrono::duration<double, std::milli>(handshake).count());
  start(s);
}

}  // namespace dh::net
