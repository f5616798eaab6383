// http_session.hpp — serves one accepted TCP connection: reads requests with header and body
// limits, answers plain routes, and hands a WebSocket upgrade's socket to a ws_session coroutine
// of its own. Runs on the connection's executor (one thread or a strand).
#pragma once

#include "net/net.hpp"
#include "net/server.hpp"

namespace dh::net {

asio::awaitable<void> run_http_session(server_context& ctx, tcp::socket socket);

}  // namespace dh::net
