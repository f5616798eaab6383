// api.hpp — the store-backed HTTP routes: POST /api/v1/events (ingest, ingest key), GET
// /api/v1/users/{id}/dashboard and /events?since=N (the user's JWT), GET /dapr/subscribe.
// Store work runs on the store executor; the response is built once it is done.
#pragma once

#include "net/net.hpp"
#include "net/server.hpp"

#include <string_view>

namespace dh::net {

bool is_api_target(std::string_view target);

// The ingest route, whose answers /metrics counts by status (a 413 is decided before it runs).
bool is_ingest_target(std::string_view target);

asio::awaitable<response> handle_api_request(server_context& ctx, const request& req);

}  // namespace dh::net
