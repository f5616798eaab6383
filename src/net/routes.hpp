// routes.hpp — maps a request target to what serves it, and answers the plain HTTP routes.
// Pure functions of the request: no sockets, so every route is testable without a network.
#pragma once

#include "net/net.hpp"
#include "net/server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace dh::net {

struct session_target {
  std::string user_id;  // percent-decoded; validity is checked after the upgrade (USER_NOT_FOUND)
  std::string token;    // from ?token=, empty when absent
  std::optional<std::string> last_event_id;
};

// The WebSocket target of `/ws/dashboard/{userId}`, or nullopt for any other path.
std::optional<session_target> match_ws_target(std::string_view target);
// The SSE target of `/sse/dashboard/{userId}`, or nullopt for any other path.
std::optional<session_target> match_sse_target(std::string_view target);

// A complete response with the server's standard headers.
response make_response(http::status status, std::string body, unsigned version, bool keep_alive,
                       std::string_view content_type = "text/plain; charset=utf-8");

// The credentials of `Authorization: Bearer <credentials>` (scheme case-insensitive), or empty.
std::string_view authorization_bearer(const request& req);

// The token from ?token= or, failing that, `Authorization: Bearer`.
std::string bearer_token(const request& req, const session_target& target);

// An origin as RFC 6454 serialises it: scheme and host lower-cased, a default port dropped
// ("HTTPS://App.Example:443" -> "https://app.example"). Anything else is returned unchanged.
std::string serialized_origin(std::string_view origin);

// True when Origin is absent or allowed; false for a request with more than one Origin. The
// allowed origins are compared as given: the server serialises them once, at construction.
bool origin_allowed(const request& req, const server_settings& settings);

// Answers a non-upgrade request: /health, /ready, the page (net/web_page), 404 otherwise
// (net/ops_routes answers /status and /metrics).
response handle_http_request(const request& req, const server_context& ctx);

}  // namespace dh::net
