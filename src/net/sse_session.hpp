// sse_session.hpp — one Server-Sent Events stream, `GET /sse/dashboard/{userId}`: the same token,
// origin, slot and rate rules as WebSocket, then the contract's server messages as events until
// the session core ends it. For networks whose proxies do not pass a WebSocket upgrade.
#pragma once

#include "net/net.hpp"
#include "net/routes.hpp"
#include "net/server.hpp"

#include <string>

namespace dh::net {

// `started`: when the request's header had been read, for the handshake histogram and the log.
asio::awaitable<void> run_sse_session(server_context& ctx, tcp::socket socket, request req, session_target target,
                                      std::string remote, core::steady_time started);

}  // namespace dh::net
