#include "core/session_core.hpp"

#include "protocol/jwt.hpp"
#include "protocol/messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <variant>

namespace dh::core {

using protocol::errc;
using protocol::failure;

namespace {

// Nobody answers an SSE heartbeat and the client never speaks: only the token ends a quiet stream.
liveness_settings liveness_for(transport kind, liveness_settings s) {
  if (kind == transport::sse) {
    s.idle_timeout = {};
    s.max_missed_pongs = INT_MAX;
  }
  return s;
}

action make(action::kind what) { return action{what, {}, server_message::none, 0, {}, {}, {}, false, {}, {}}; }

client_message kind_of(const protocol::ping&) { return client_message::ping; }
client_message kind_of(const protocol::subscribe_dashboard&) { return client_message::subscribe_dashboard; }
client_message kind_of(const protocol::unsubscribe_dashboard&) { return client_message::unsubscribe_dashboard; }
client_message kind_of(const protocol::ack&) { return client_message::ack; }
client_message kind_of(const protocol::refresh_token&) { return client_message::refresh_token; }

}  // namespace

session_core::session_core(transport kind, session_settings settings, session_identity who, const clock& clock,
                           const protocol::jwt_verifier& jwt, metrics& counted)
    : kind_(kind),
      close_grace_(settings.close_grace),
      heartbeat_(std::chrono::duration_cast<std::chrono::seconds>(settings.liveness.ping_interval)),
      who_(std::move(who)),
      clock_(clock),
      jwt_(jwt),
      metrics_(counted),
      limiter_(settings.rate_limit, clock.steady_now()),
      live_(liveness_for(kind, settings.liveness), clock.steady_now()) {
  live_.set_token_deadline(token_deadline(who_.token_expires_at));
}

steady_time session_core::token_deadline(wall_time expires_at) const {
  // `exp` is wall time; the session's timer is steady, so carry the remaining lifetime over.
  const auto remaining = expires_at + jwt_.settings().leeway - clock_.wall_now();
  return clock_.steady_now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining);
}

actions session_core::start() {
  actions out;
  send(out, protocol::encode_connection_success(who_.user_id, who_.session_id, heartbeat_.count(), who_.recovered,
                                                clock_.wall_now()),
       server_message::connection_success);
  if (kind_ == transport::sse) {  // subscribed from the start: replay, then the dashboard, then live
    auto subscribe = make(action::kind::subscribe);
    subscribe.event_id = std::exchange(who_.resume_from, std::nullopt);
    out.push_back(std::move(subscribe));
  }
  arm(out);
  return out;
}

// --- outcomes --------------------------------------------------------------------------------

void session_core::send(actions& out, std::string text, server_message type) {
  auto a = make(action::kind::send);
  a.data = make_frame(std::move(text));
  a.type = type;
  out.push_back(std::move(a));
}

// An error that leaves the session open (close code 0 in the contract's table, or a dropped message).
void session_core::send_error(actions& out, failure f, std::optional<std::chrono::milliseconds> retry_after) {
  send(out, protocol::encode_error(f, clock_.wall_now(), retry_after), server_message::error);
  out.back().error = f.code;
}

// An error that ends the session: its envelope, then its close code. The first decision wins.
void session_core::fail(actions& out, failure f, std::optional<std::chrono::milliseconds> retry_after) {
  if (state_ != state::open) return;
  const auto& info = protocol::info(f.code);
  auto close = make(action::kind::close);
  close.data = make_frame(protocol::encode_error(f, clock_.wall_now(), retry_after));
  close.type = server_message::error;
  close.code = info.close_code;
  close.reason = std::string(info.code);
  close.detail = std::move(f.message);
  close.error = f.code;
  out.push_back(std::move(close));
  // The queue may already hold another close request (the hub's): on_close_request then corrects the code.
  for (auto& a : on_close_request(info.close_code, std::string(info.code))) out.push_back(std::move(a));
}

// The end has begun: the user's slot is free for a reload, and the hub stops sending.
void session_core::begin_end(actions& out) {
  if (slot_released_) return;
  slot_released_ = true;
  out.push_back(make(action::kind::release_slot));
  out.push_back(make(action::kind::leave_hub));
}

void session_core::arm(actions& out) {
  auto a = make(action::kind::arm_timer);
  a.at = close_deadline_ ? *close_deadline_ : live_.next_deadline();
  out.push_back(std::move(a));
}

void session_core::loop_ended(actions& out) {
  if (--loops_running_ > 0) {
    // The other loop gets the grace to finish (a writer stuck on a peer that stopped reading, a
    // reader waiting for the peer's side of a close); then the socket drops under it.
    if (!close_deadline_) close_deadline_ = clock_.steady_now() + close_grace_;
    arm(out);
    return;
  }
  state_ = state::ended;
  begin_end(out);
  out.push_back(make(action::kind::log_end));
}

// --- the reader ------------------------------------------------------------------------------

actions session_core::on_message(std::string_view text) {
  actions out;
  ++messages_in_;
  live_.on_client_message(clock_.steady_now());
  // While closing the reader only lets the close handshake finish.
  if (state_ != state::open) return out;
  const auto verdict = limiter_.on_message(clock_.steady_now());
  if (verdict.what == rate_limiter::verdict::close) {
    fail(out, {errc::rate_limited, "message rate limit exceeded repeatedly", {}}, verdict.retry_after);
    return out;
  }
  if (verdict.what == rate_limiter::verdict::drop) {
    send_error(out, {errc::rate_limited, "message dropped: rate limit exceeded", {}}, verdict.retry_after);
    return out;
  }
  dispatch(out, text);
  return out;
}

void session_core::dispatch(actions& out, std::string_view text) {
  auto decoded = protocol::decode_client_message(text);
  if (!decoded) {
    fail(out, decoded.error());
    return;
  }
  const auto now = clock_.wall_now();
  std::visit([this](const auto& m) { metrics_.client_in(kind_of(m)); }, *decoded);
  if (auto* m = std::get_if<protocol::ping>(&*decoded)) {
    send(out, protocol::encode_pong(m->payload, now), server_message::pong);
  } else if (auto* m = std::get_if<protocol::subscribe_dashboard>(&*decoded)) {
    if (m->user_id != who_.user_id) {
      send_error(out, {errc::subscription_failed, "you can only subscribe to your own dashboard", "subscribe_dashboard"}, {});
      return;
    }
    // `subscribed` is queued before the hub queues replay and dashboard_update, so they arrive in order.
    send(out, protocol::encode_subscribed(who_.user_id, now), server_message::subscribed);
    auto subscribe = make(action::kind::subscribe);
    subscribe.batch = m->batch;
    subscribe.event_id = m->last_event_id ? m->last_event_id : std::exchange(who_.resume_from, std::nullopt);
    out.push_back(std::move(subscribe));
  } else if (auto* m = std::get_if<protocol::unsubscribe_dashboard>(&*decoded)) {
    if (m->user_id != who_.user_id) {
      send_error(out, {errc::subscription_failed, "you can only unsubscribe from your own dashboard", "unsubscribe_dashboard"}, {});
      return;
    }
    out.push_back(make(action::kind::unsubscribe));
    send(out, protocol::encode_unsubscribed(who_.user_id, now), server_message::unsubscribed);
  } else if (auto* m = std::get_if<protocol::ack>(&*decoded)) {
    auto ack = make(action::kind::ack);
    ack.event_id = *std::max_element(m->ids.begin(), m->ids.end());
    out.push_back(std::move(ack));
  } else if (auto* m = std::get_if<protocol::refresh_token>(&*decoded)) {
    auto verified = jwt_.verify(m->token, now);
    if (!verified) {
      auto f = verified.error();
      f.request_type = "refresh_token";
      fail(out, std::move(f));
    } else if (verified->subject != who_.user_id) {
      fail(out, {errc::auth_invalid, "refreshed token is for another user", "refresh_token"});
    } else {
      live_.set_token_deadline(token_deadline(verified->expires_at));
      arm(out);
    }
  }
}

actions session_core::on_bad_frame(failure why) {
  actions out;
  ++messages_in_;
  live_.on_client_message(clock_.steady_now());
  fail(out, std::move(why));
  return out;
}

actions session_core::on_pong() {
  live_.on_pong(clock_.steady_now());
  return {};
}

actions session_core::on_peer_close(std::uint16_t code) {
  actions out;
  peer_sent_close_ = true;
  peer_code_ = code;
  if (state_ == state::open) state_ = state::ending;
  begin_end(out);
  return out;
}

actions session_core::on_read_end() {
  actions out;
  if (state_ == state::open) state_ = state::ending;
  begin_end(out);
  out.push_back(make(action::kind::stop_writer));
  loop_ended(out);
  return out;
}

// --- the writer, the timer, the queue ----------------------------------------------------------

actions session_core::on_writer_end(writer_end how) {
  actions out;
  close_completed_ = how == writer_end::closed;
  if (state_ == state::open) state_ = state::ending;
  begin_end(out);
  // The peer is gone or stuck: nothing more can be written, and the reader must not wait for it.
  if (how == writer_end::write_failed || how == writer_end::close_failed) out.push_back(make(action::kind::drop_socket));
  out.push_back(make(action::kind::stop_writer));
  loop_ended(out);
  return out;
}

actions session_core::on_timer() {
  actions out;
  const auto now = clock_.steady_now();
  if (state_ == state::open) {
    using due = liveness::action;
    switch (live_.poll(now)) {
      case due::none: break;
      case due::send_ping: out.push_back(make(action::kind::ping)); break;
      case due::token_expired: fail(out, {errc::auth_expired, {}, {}}); return out;
      case due::unresponsive: fail(out, {errc::idle_timeout, "no pong to two pings", {}}); return out;
      case due::idle_timeout: fail(out, {errc::idle_timeout, {}, {}}); return out;
    }
    arm(out);
  } else if (state_ != state::ended && close_deadline_) {
    if (now < *close_deadline_) {
      arm(out);
      return out;
    }
    // The peer stopped reading and the writer is stuck, or it never answered our close.
    auto drop = make(action::kind::drop_socket);
    drop.detail = close_code_ != 0 ? fmt::format("did not finish closing ({} {})", close_code_, close_reason_)
                                   : std::string("did not finish ending");
    out.push_back(std::move(drop));
    close_deadline_.reset();
  }
  return out;
}

actions session_core::on_close_request(std::uint16_t code, std::string reason) {
  actions out;
  if (code == 0) return out;  // the queue shut down: the end is already under way
  if (state_ == state::closing) {
    close_code_ = code;  // the queue keeps the first request: what is sent is what it says
    close_reason_ = std::move(reason);
    return out;
  }
  if (state_ != state::open) return out;
  state_ = state::closing;
  close_code_ = code;
  close_reason_ = std::move(reason);
  close_deadline_ = clock_.steady_now() + close_grace_;
  begin_end(out);
  arm(out);
  return out;
}

actions session_core::on_queue_full() {
  actions out;
  fail(out, {errc::slow_consumer, "outbound queue is full", {}});
  return out;
}

actions session_core::on_internal_error() {
  actions out;
  if (state_ == state::open) state_ = state::ending;
  begin_end(out);
  out.push_back(make(action::kind::stop_writer));
  out.push_back(make(action::kind::drop_socket));
  return out;
}

end_summary session_core::summary() const {
  end_summary s;
  s.by_server = close_code_ != 0;
  // Else the peer's: its code, 1005 for a close frame without one, 1006 for no close frame at all.
  s.code = s.by_server ? close_code_ : peer_code_ != 0 ? peer_code_ : peer_sent_close_ ? 1005 : 1006;
  s.reason = close_reason_;
  s.close_completed = close_completed_;
  s.messages_in = messages_in_;
  s.messages_out = messages_out_;
  return s;
}

}  // namespace dh::core
