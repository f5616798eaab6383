// ws_session.hpp — one WebSocket connection from upgrade to close: the handshake's checks
// (net/session_handshake), then Beast's reader and single writer feeding the session core
// (core/session_core), whose every failure of SPEC §2 ends with the `error` envelope and its close code.
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
