// ops_routes.hpp — the operator's routes: GET /status (JSON, seed 004) and GET /metrics
// (Prometheus text). Both read the hub on its strand, so they are awaited like the API routes.
#pragma once

#include "net/net.hpp"
#include "net/server.hpp"

#include <string_view>

namespace dh::net {

// /status keeps at most this many users in connections_per_user, so it stays small at 50,000.
inline constexpr std::size_t status_top_users = 100;

bool is_ops_target(std::string_view path);

asio::awaitable<response> handle_ops_request(server_context& ctx, const request& req, std::string_view path);

}  // namespace dh::net
