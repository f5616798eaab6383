// session_actions.hpp — what every transport does with the session core's actions: the queue,
// the hub, the user's slot, the timer and the access log. A transport adds only its socket.
#pragma once

#include "core/outbox.hpp"
#include "core/session_core.hpp"
#include "net/net.hpp"
#include "net/server.hpp"
#include "net/session_handshake.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>

namespace dh::net {

// How a writer's burst ended: the queue drained (nullopt: wait for more), or the writer is done.
using burst_end = std::optional<core::session_core::writer_end>;

// One session's state shared by its reader, its writer and its timer's callback, all on the
// connection's executor, so plain members need no locking.
struct session_base : std::enable_shared_from_this<session_base> {
  session_base(server_context& c, const asio::any_io_executor& executor, core::transport kind, core::session_identity who,
               std::string from, core::steady_time connected, std::shared_ptr<core::outbox> queue, open_session_count open);
  session_base(const session_base&) = delete;
  session_base& operator=(const session_base&) = delete;
  virtual ~session_base() = default;

  // Writes what the outbox holds, starting with `first`, until it is empty or the writer is done
  // (the close request written, or a write failed). The session is kept alive by its caller.
  virtual asio::awaitable<burst_end> write_burst(core::outbound first) = 0;
  // Closes the socket under any pending read or write.
  virtual void drop_socket() = 0;
  // The session has ended: let go of what holds it (the WebSocket's control callback).
  virtual void release() {}

  const std::string& user() const noexcept { return core.who().user_id; }
  const std::string& id() const noexcept { return core.who().session_id; }

  server_context& ctx;
  std::shared_ptr<core::outbox> out;
  core::session_core core;
  asio::steady_timer timer;
  std::string remote;
  core::steady_time connected_at;
  open_session_count counted;
};

// Carries out the core's actions in order; a refused push comes back to the core as on_queue_full.
void carry_out(const std::shared_ptr<session_base>& s, core::actions todo);

// Starts the session: `reader` (the transport's read loop, holding the session) and the writer
// run, the core hears of every close request (its own, the hub's: slow consumer, drain), and its
// start actions run.
void start_session(const std::shared_ptr<session_base>& s, asio::awaitable<void> reader);

// The writer saw an exception escape: a bug of ours, logged as INTERNAL_ERROR; the session ends.
void fail_internally(const std::shared_ptr<session_base>& s, const std::exception_ptr& e);

// The log line and histogram of a session that has opened.
void log_session_open(const session_base& s);

}  // namespace dh::net
