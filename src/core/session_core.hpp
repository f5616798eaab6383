// session_core.hpp — the decisions of one client session, for any transport: events in, actions
// out, time from the clock it is given. No sockets and no Asio, so every way a session ends is a unit test.
//
//   open ──we end it: error, expiry, idle, drain, slow reader──▶ closing ──close written─┐
//     │                        (grace: past it, drop the socket)                          │
//     └──the peer ends it: close frame, read ended, write failed──▶ ending ──────────────┤
//                                                                                         ▼
//   ended ◀──────────────── the reader and the writer have both stopped ◀────────────────┘
//
// The one order of an end: the slot is released and the hub left the moment the end begins (a
// reload finds the slot free); the writer stops after the close (or at once when the peer ended);
// the socket drops when a write fails, or when the grace runs out (from a close request, or from
// the end of one loop while the other still runs); the end is logged once, with its code, when
// both loops have stopped.
#pragma once

#include "core/clock.hpp"
#include "core/liveness.hpp"
#include "core/metrics.hpp"
#include "core/outbox.hpp"
#include "core/rate_limiter.hpp"
#include "core/transport.hpp"
#include "protocol/errors.hpp"

#include <boost/container/static_vector.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dh::protocol {
class jwt_verifier;
}

namespace dh::core {

struct session_settings {
  liveness_settings liveness;
  rate_limit_settings rate_limit;
  std::chrono::steady_clock::duration close_grace = std::chrono::seconds(5);
};

// Who the session is, settled by the handshake before the core exists.
struct session_identity {
  std::string user_id;
  std::uint64_t hub_id = 0;    // the hub's and admission's key
  std::string session_id;      // the client-visible id
  wall_time token_expires_at;  // `exp` of the token that opened it
  std::optional<std::uint64_t> resume_from;  // lastEventId, for the first subscribe without one
  bool recovered = false;      // history covers resume_from (connection_success.recovered)
};

// What the adapter must do, in order. A `send` refused by a full queue comes back as
// on_queue_full(); every other action cannot fail back into the core.
struct action {
  enum class kind : std::uint8_t {
    send,           // queue `frame` (counted as `type` once written)
    ping,           // queue a ping (SSE: a heartbeat comment)
    close,          // queue the close request: `frame`, then close `code` `reason`
    subscribe,      // hub: subscribe with `batch`, replaying after `event_id` when set
    unsubscribe,    // hub
    ack,            // hub: everything up to `event_id`
    release_slot,   // admission: the user's slot is free again
    leave_hub,      // hub: no more updates
    arm_timer,      // call on_timer() at `at` (replaces the pending call)
    stop_writer,    // the writer ends once its write in flight does
    drop_socket,    // close the socket under any pending read or write
    log_end,        // the session is over: log and count it (see end_summary()); the timer is no longer needed
  };
  kind what;
  frame data;
  server_message type = server_message::none;
  std::uint16_t code = 0;
  std::string reason;   // close: the reason on the wire (the error's code)
  std::string detail;   // close, drop_socket: why, for the log
  std::optional<protocol::errc> error;  // send, close: the error the frame raises, counted once it is queued
  bool batch = false;
  std::optional<std::uint64_t> event_id;
  steady_time at{};
};

// The longest answer is an error that closes, after a full end: close, release, leave, arm.
using actions = boost::container::static_vector<action, 6>;

// How a session ended, for the access log and the closes metric.
struct end_summary {
  std::uint16_t code = 0;      // ours when the server ended it; else the peer's, 1005 or 1006
  std::string reason;          // ours, when the server ended it
  bool by_server = false;
  bool close_completed = false;  // our close frame went out and the peer answered
  std::uint32_t messages_in = 0;
  std::uint32_t messages_out = 0;
};

// WebSocket: the client sends messages and answers pings. SSE: the client only reads; resume
// replaces acks, and a ping is a heartbeat comment nobody answers.
class session_core {
 public:
  enum class state : std::uint8_t { open, closing, ending, ended };

  // Counts the client messages it decodes and the errors it raises in `counted`.
  session_core(transport kind, session_settings settings, session_identity who, const clock& clock,
               const protocol::jwt_verifier& jwt, metrics& counted);

  // The handshake is done: connection_success (SSE: and the subscription, replay first), the timer.
  actions start();

  // --- from the reader (WebSocket only) ---
  actions on_message(std::string_view text);
  // A message refused before decoding: too big or not text.
  actions on_bad_frame(protocol::failure why);
  actions on_pong();
  // A close frame arrived (`code` 0: it had none).
  actions on_peer_close(std::uint16_t code);
  actions on_read_end();

  // --- from the writer, the timer and the queue ---
  void on_written() noexcept {
    ++messages_out_;
    metrics_.messages_by_transport[static_cast<std::size_t>(kind_)].add();
  }
  // Why the writer stopped: the queue shut down, our close went out and the peer answered it, the
  // close did not complete, or a write failed (the peer is gone: the socket drops).
  enum class writer_end : std::uint8_t { stopped, closed, close_failed, write_failed };
  actions on_writer_end(writer_end how);
  actions on_timer();
  // Someone asked this session to close (itself, the hub: slow consumer, drain), or its queue shut.
  actions on_close_request(std::uint16_t code, std::string reason);
  actions on_queue_full();
  actions on_internal_error();

  state current() const noexcept { return state_; }
  transport kind() const noexcept { return kind_; }
  const session_identity& who() const noexcept { return who_; }
  end_summary summary() const;

 private:
  void begin_end(actions& out);
  void fail(actions& out, protocol::failure f, std::optional<std::chrono::milliseconds> retry_after = std::nullopt);
  void send(actions& out, std::string text, server_message type);
  void send_error(actions& out, protocol::failure f, std::optional<std::chrono::milliseconds> retry_after);
  void arm(actions& out);
  void loop_ended(actions& out);
  void dispatch(actions& out, std::string_view text);
  steady_time token_deadline(wall_time expires_at) const;

  transport kind_;
  // Of the settings only these are kept: the limiter and liveness hold their own, and every
  // byte here is a byte per idle connection.
  std::chrono::steady_clock::duration close_grace_;
  std::chrono::seconds heartbeat_;
  session_identity who_;
  const clock& clock_;
  const protocol::jwt_verifier& jwt_;
  metrics& metrics_;
  rate_limiter limiter_;
  liveness live_;
  state state_ = state::open;
  std::optional<steady_time> close_deadline_;
  std::uint16_t close_code_ = 0;  // our close request's
  std::string close_reason_;
  std::uint16_t peer_code_ = 0;
  bool peer_sent_close_ = false;
  bool close_completed_ = false;
  bool slot_released_ = false;
  int loops_running_ = 2;  // the reader and the writer
  std::uint32_t messages_in_ = 0;
  std::uint32_t messages_out_ = 0;
};

}  // namespace dh::core
