#include "net/sse_session.hpp"

#include "net/session_actions.hpp"
#include "net/session_handshake.hpp"

#include "protocol/messages.hpp"
#include "protocol/sse.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/range/iterator_range_core.hpp>

#include <array>

namespace dh::net {

namespace {

using protocol::errc;
using protocol::failure;

// How long EventSource waits before it reconnects after the stream ends.
constexpr std::chrono::milliseconds reconnect_delay{2000};
// A burst is written in one send of at most this many events or bytes.
constexpr std::size_t max_burst_items = 64;
constexpr std::size_t max_burst_bytes = 64 * 1024;

struct session final : session_base {
  session(server_context& c, tcp::socket s, core::session_identity who, std::string from, core::steady_time connected,
          std::shared_ptr<core::outbox> queue, open_session_count open, std::string response_head)
      : session_base(c, s.get_executor(), core::transport::sse, std::move(who), std::move(from), connected,
                     std::move(queue), std::move(open)),
        socket(std::move(s)),
        head(std::move(response_head)) {}

  void drop_socket() override {
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  asio::awaitable<burst_end> write_burst(core::outbound first) override;

  tcp::socket socket;
  std::string head;  // the response's header and preamble, sent with the first events
};

using session_ptr = std::shared_ptr<session>;

// --- before the stream: plain HTTP refusals, which EventSource reports as onerror -------------

http::status status_of(errc code) {
  switch (code) {
    case errc::auth_invalid:
    case errc::auth_expired: return http::status::unauthorized;
    case errc::user_not_found: return http::status::not_found;
    case errc::connection_limit: return http::status::too_many_requests;
    case errc::internal_error: return http::status::service_unavailable;
    default: return http::status::bad_request;
  }
}

asio::awaitable<void> refuse(tcp::socket& socket, const server_context& ctx, failure f, std::string remote, unsigned version) {
  const auto& info = protocol::info(f.code);
  ctx.log.info("stream request from {} refused: {} ({})", remote, info.code, f.message);
  ctx.metrics.error_sent(f.code);
  auto answer = make_response(status_of(f.code), protocol::encode_error(f, ctx.clock.wall_now()), version, false,
                              "application/json");
  if (f.code == errc::internal_error) answer.set(http::field::retry_after, "5");
  auto [ec, n] = co_await http::async_write(socket, answer, as_values);
  (void)n;
  if (!ec) socket.shutdown(tcp::socket::shutdown_send, ec);
}

std::string response_head(const request& req) {
  std::string head =
      "HTTP/1.1 200 OK\r\nServer: dashboard-hub\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\nConnection: close\r\n";
  // A page of another origin may read the stream (EventSource is subject to CORS): the Origin
  // was allowed already (refuse_early), by --allowed-origin or because any is.
  if (const auto origin = req.find(http::field::origin); origin != req.end()) {
    head += "Access-Control-Allow-Origin: ";
    head += origin->value();
    head += "\r\nVary: Origin\r\n";
  }
  head += "\r\n";
  head += protocol::sse_preamble(reconnect_delay);
  return head;
}

// --- the reader: the client says nothing on this transport; a read only sees the end ---------

asio::awaitable<void> read_loop(session_ptr s) {
  std::array<char, 64> sink;
  for (;;) {
    auto [ec, n] = co_await s->socket.async_read_some(asio::buffer(sink), as_values);
    (void)n;
    if (ec) break;  // what the client sends is read and dropped
  }
  carry_out(s, s->core.on_read_end());
}

// --- the writer -------------------------------------------------------------------------------

struct burst {
  std::vector<core::outbound> items;
  std::vector<std::string> heads;  // one per frame, kept until the write is done
  std::size_t bytes = 0;
};

// The buffers of a burst: the response head (first burst only), then each event's lines around
// its shared frame, which is not copied.
std::vector<asio::const_buffer> buffers_of(const burst& b, const std::string& response_head) {
  std::vector<asio::const_buffer> out;
  if (!response_head.empty()) out.push_back(asio::buffer(response_head));
  std::size_t next_head = 0;
  for (const auto& item : b.items) {
    if (item.what == core::outbound::kind::ping) {
      out.push_back(asio::buffer(protocol::sse_heartbeat));
    } else if (item.what == core::outbound::kind::frame) {
      out.push_back(asio::buffer(b.heads[next_head++]));
      out.push_back(asio::buffer(*item.data));
      out.push_back(asio::buffer(protocol::sse_event_tail));
    }
  }
  return out;
}

void add(burst& b, core::outbound item) {
  if (item.what == core::outbound::kind::frame) {
    b.heads.push_back(protocol::sse_event_head(core::server_message_names[static_cast<std::size_t>(item.tag.type)],
                                               item.tag.event_id));
    b.bytes += item.data->size();
  }
  b.items.push_back(std::move(item));
}

void count_written(session& s, const burst& b) {
  for (const auto& item : b.items) {
    if (item.what != core::outbound::kind::frame) continue;
    s.core.on_written();
    s.ctx.metrics.server_out(item.tag.type);
    if (item.tag.accepted != core::wall_time{}) s.ctx.metrics.delivery_latency.observe(s.ctx.clock.wall_now() - item.tag.accepted);
  }
}

asio::awaitable<bool> write(session& s, const burst& b) {
  auto [ec, n] = co_await asio::async_write(s.socket, buffers_of(b, s.head), as_values);
  (void)n;
  if (ec) co_return false;
  std::string().swap(s.head);
  count_written(s, b);
  co_return true;
}

using writer_end = core::session_core::writer_end;

// The last frame as an event (the error, or connection_status on a drain), then the stream ends.
asio::awaitable<burst_end> write_close(session& s, core::close_request request) {
  if (request.last_frame) {
    burst last;
    add(last, {core::outbound::kind::frame, std::move(request.last_frame), {request.last_type, {}, 0}});
    if (!co_await write(s, last)) co_return writer_end::write_failed;
  }
  boost::system::error_code ignored;
  s.socket.shutdown(tcp::socket::shutdown_send, ignored);
  s.drop_socket();  // the reader ends with it
  co_return writer_end::closed;
}

asio::awaitable<burst_end> session::write_burst(core::outbound first) {
  std::optional<core::outbound> next = std::move(first);
  for (;;) {
    if (auto request = out->take_close_request()) co_return co_await write_close(*this, std::move(*request));
    burst b;
    for (auto item = next ? std::exchange(next, std::nullopt) : out->try_receive(); item; item = out->try_receive()) {
      add(b, std::move(*item));
      if (b.items.size() >= max_burst_items || b.bytes >= max_burst_bytes) break;
    }
    if (b.items.empty()) co_return std::nullopt;
    if (!co_await write(*this, b)) co_return writer_end::write_failed;
  }
}

std::vector<std::string_view> last_event_ids(const request& req) {
  std::vector<std::string_view> out;
  for (const auto& field : boost::make_iterator_range(req.equal_range("Last-Event-ID"))) out.push_back(field.value());
  return out;
}

}  // namespace

asio::awaitable<void> run_sse_session(server_context& ctx, tcp::socket socket, request req, session_target target,
                                      std::string remote, core::steady_time started) {
  open_session_count counted(ctx.open_sessions);
  const auto version = req.version();
  const auto resume = protocol::sse_resume_point(last_event_ids(req), target.last_event_id);
  target.last_event_id.reset();  // decided above, by the SSE rule
  auto who = identify(ctx, req, target, ctx.hub.new_session_id());
  if (!who) co_return co_await refuse(socket, ctx, who.error(), remote, version);
  if (!resume) co_return co_await refuse(socket, ctx, resume.error(), remote, version);
  who->resume_from = *resume;

  auto out = std::make_shared<core::outbox>(socket.get_executor(), ctx.settings.outbox_capacity, ctx.settings.outbox_max_bytes);
  const auto outcome = co_await admit(ctx, *who, out);
  if (outcome != admission_outcome::admitted) co_return co_await refuse(socket, ctx, refusal_of(ctx, outcome), remote, version);
  if (who->resume_from) who->recovered = co_await history_covers(ctx, who->user_id, *who->resume_from);

  auto s = std::make_shared<session>(ctx, std::move(socket), std::move(*who), std::move(remote), started, std::move(out),
                                     std::move(counted), response_head(req));
  log_session_open(*s);
  start_session(s, read_loop(s));
}

}  // namespace dh::net
