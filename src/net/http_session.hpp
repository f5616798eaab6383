// http_session.hpp — serves one accepted TCP connection: reads requests with header and body
// limits, answers plain routes, and hands a WebSocket upgrade's socket to a ws_session coroutine
// of its own. Runs on the connection's executor (one thread or a strand).
#pragma once

#include "net/net.hpp"
#include "net/server.hpp"

#include <optional>

namespace dh::net {

// `peer` is the address accept() returned (no getpeername per connection); nullopt if unknown.
// `port` decides which routes it serves (server.hpp, listener).
asio::awaitable<void> run_http_session(server_context& ctx, tcp::socket socket, std::optional<tcp::endpoint> peer,
                                       listener port);

}  // namespace dh::net
