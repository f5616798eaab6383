// web_page.hpp — serves the embedded live dashboard page (/, /app.js, /dashboard-client.js,
// /style.css) with its security headers and a revalidating cache policy (ETag, 304).
#pragma once

#include "net/net.hpp"

#include <optional>
#include <string_view>

namespace dh::net {

// The page allows only its own scripts, styles and WebSocket, and no framing.
inline constexpr std::string_view page_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The response for a page route (GET or HEAD), or nullopt when `path` is not one.
std::optional<response> serve_web_page(const request& req, std::string_view path);

}  // namespace dh::net
