#include "net/session_actions.hpp"

#include <boost/asio/co_spawn.hpp>

namespace dh::net {

session_base::session_base(server_context& c, const asio::any_io_executor& executor, core::transport kind,
                           core::session_identity who, std::string from, core::steady_time connected,
                           std::shared_ptr<core::outbox> queue, open_session_count open)
    : ctx(c),
      out(std::move(queue)),
      core(kind, session_settings_of(c.settings), std::move(who), c.clock, c.jwt, c.metrics),
      timer(executor),
      remote(std::move(from)),
      connected_at(connected),
      counted(std::move(open)) {}

namespace {

void on_timer(const std::shared_ptr<session_base>& s, boost::system::error_code ec) {
  // A wait replaced by a newer arm, or cancelled as the writer stopped, has nothing to say.
  if (ec != asio::error::operation_aborted) carry_out(s, s->core.on_timer());
}

}  // namespace

void carry_out(const std::shared_ptr<session_base>& s, core::actions todo) {
  using kind = core::action::kind;
  auto& ctx = s->ctx;
  const auto hub_id = s->core.who().hub_id;
  // A push refused by a full queue is answered after the list: the core's answer (SLOW_CONSUMER,
  // the close grace) must come after this list's own actions, not be overwritten by them.
  bool refused = false;
  for (auto& a : todo) {
    switch (a.what) {
      case kind::send: {
        const auto pushed = s->out->push(std::move(a.data), {a.type, {}, 0});
        refused = refused || pushed == core::outbox::push_result::full;
        if (pushed == core::outbox::push_result::ok && a.error) ctx.metrics.error_sent(*a.error);
        break;
      }
      case kind::ping: refused = refused || s->out->push_ping() == core::outbox::push_result::full; break;
      case kind::close:
        // Counted and logged only when it is the close request that will be sent (the hub's may be first).
        if (s->out->set_close_request({a.code, a.data, a.reason, a.type})) {
          ctx.log.info("session {} user={} error {}: {}", s->id(), s->user(), a.reason, a.detail);
          if (a.error) ctx.metrics.error_sent(*a.error);
        }
        break;
      case kind::subscribe: ctx.hub.subscribe(s->user(), hub_id, a.batch, a.event_id); break;
      case kind::unsubscribe: ctx.hub.unsubscribe(s->user(), hub_id); break;
      case kind::ack: ctx.hub.ack(s->user(), hub_id, *a.event_id); break;
      case kind::release_slot: ctx.admission.release(s->user(), hub_id); break;
      case kind::leave_hub: ctx.hub.leave(s->user(), hub_id); break;
      case kind::arm_timer:
        s->timer.expires_at(a.at);  // cancels the pending wait
        s->timer.async_wait([s](boost::system::error_code ec) { on_timer(s, ec); });
        break;
      case kind::stop_writer: s->out->shut_down(); break;
      case kind::drop_socket:
        if (!a.detail.empty()) ctx.log.info("session {} user={} {}; dropping it", s->id(), s->user(), a.detail);
        s->drop_socket();
        break;
      case kind::log_end:
        s->timer.cancel();
        s->release();
        log_session_end(ctx, s->core, s->remote, s->connected_at);
        break;
    }
  }
  if (refused) carry_out(s, s->core.on_queue_full());
}

namespace {

// The writer runs only while there is something to send. An empty outbox holds this callback,
// not a suspended coroutine: an idle connection keeps no writer frames (about a kilobyte).
void await_output(std::shared_ptr<session_base> s) {
  auto& out = *s->out;
  out.async_receive([s = std::move(s)](std::optional<core::outbound> item) mutable {
    using writer_end = core::session_core::writer_end;
    if (!item) {  // shut down: the session is ending
      carry_out(s, s->core.on_writer_end(writer_end::stopped));
      return;
    }
    const auto executor = s->timer.get_executor();  // the connection's
    asio::co_spawn(executor, s->write_burst(std::move(*item)), [s](std::exception_ptr e, burst_end end) {
      if (e) {
        fail_internally(s, e);
        end = writer_end::write_failed;
      }
      if (!end) return await_output(s);
      // The writer may have sent a close request (the hub's) whose notice to the core is still
      // queued: the core learns it first, or the end would be logged as the peer's (1006).
      if (auto [code, reason] = s->out->close_request_reason(); code != 0)
        carry_out(s, s->core.on_close_request(code, std::move(reason)));
      carry_out(s, s->core.on_writer_end(*end));
    });
  });
}

}  // namespace

void start_session(const std::shared_ptr<session_base>& s, asio::awaitable<void> reader) {
  asio::co_spawn(s->timer.get_executor(), std::move(reader), [s](std::exception_ptr e) {
    if (!e) return;
    fail_internally(s, e);
    carry_out(s, s->core.on_read_end());
  });
  await_output(s);
  s->out->on_close_request([s] {
    auto [code, reason] = s->out->close_request_reason();
    carry_out(s, s->core.on_close_request(code, std::move(reason)));
  });
  carry_out(s, s->core.start());
}

void fail_internally(const std::shared_ptr<session_base>& s, const std::exception_ptr& e) {
  s->ctx.log.error("INTERNAL_ERROR session {} user={}: {}", s->id(), s->user(), core::describe(e));
  carry_out(s, s->core.on_internal_error());
}

void log_session_open(const session_base& s) {
  const auto handshake = s.ctx.clock.steady_now() - s.connected_at;
  s.ctx.metrics.handshake_time.observe(handshake);
  s.ctx.metrics.sessions_opened[static_cast<std::size_t>(s.core.kind())].add();
  s.ctx.log.info("session {} user={} opened from {} after {:.1f} ms transport={}", s.id(), s.user(), s.remote,
                 std::chrono::duration<double, std::milli>(handshake).count(), core::transport_name(s.core.kind()));
}

}  // namespace dh::net
