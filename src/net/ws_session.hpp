// ws_session.hpp — one WebSocket connection from upgrade to close: authenticate, register with
// the hub, then run the reader, the single writer and one timer (liveness, then the close grace)
// on the connection's executor. Every failure of SPEC §2 ends with the `error` envelope and then
// the table's close code.
#pragma once

#include "net/net.hpp"
#include "net/routes.hpp"
#include "net/server.hpp"

#include <string>

namespace dh::net {

// `started`: when the upgrade request's header had been read, for the handshake histogram and
// the access log's duration.
asio::awaitable<void> run_ws_session(server_context& ctx, tcp::socket socket, request upgrade,
                                     session_target target, std::string remote, core::steady_time started);

}  // namespace dh::net
