#include "net/routes.hpp"

#include "net/web_page.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

namespace dh::net {

namespace {

constexpr std::string_view ws_prefix = "/ws/dashboard/";
constexpr std::string_view sse_prefix = "/sse/dashboard/";

response text_response(const request& req, http::status status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8") {
  return make_response(status, std::move(body), req.version(), req.keep_alive(), content_type);
}

}  // namespace

response make_response(http::status status, std::string body, unsigned version, bool keep_alive,
                       std::string_view content_type) {
  response res{status, version};
  res.set(http::field::server, "dashboard-hub");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

namespace {

// `{prefix}{userId}` with the query's token and lastEventId.
std::optional<session_target> match_session_target(std::string_view target, std::string_view prefix) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  const std::string_view encoded_path = url->encoded_path();
  if (!encoded_path.starts_with(prefix)) return std::nullopt;
  const auto segments = url->segments();
  if (segments.size() != 3) return std::nullopt;
  auto it = segments.begin();
  session_target out;
  std::advance(it, 2);
  out.user_id = *it;
  for (const auto& param : url->params()) {
    if (param.key == "token" && param.has_value) out.token = param.value;
    if (param.key == "lastEventId" && param.has_value) out.last_event_id = param.value;
  }
  return out;
}

}  // namespace

std::optional<session_target> match_ws_target(std::string_view target) { return match_session_target(target, ws_prefix); }
std::optional<session_target> match_sse_target(std::string_view target) { return match_session_target(target, sse_prefix); }

std::string_view authorization_bearer(const request& req) {
  const std::string_view auth = req[http::field::authorization];
  constexpr std::string_view scheme = "Bearer ";
  if (auth.size() > scheme.size() && std::equal(scheme.begin(), scheme.end(), auth.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      }))
    return auth.substr(scheme.size());
  return {};
}

std::string bearer_token(const request& req, const session_target& target) {
  if (!target.token.empty()) return target.token;
  return std::string(authorization_bearer(req));
}

std::string serialized_origin(std::string_view origin) {
  auto url = boost::urls::parse_absolute_uri(origin);
  if (!url || !url->has_authority() || url->has_userinfo() || !url->encoded_path().empty() || url->has_query() ||
      url->has_fragment())
    return std::string(origin);  // "null" and the like match only themselves
  auto lower = [](std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
  };
  const auto scheme = lower(url->scheme());
  std::string out = scheme + "://" + lower(url->encoded_host());
  const std::string_view port = url->port();
  const bool default_port = (port == "80" && (scheme == "http" || scheme == "ws")) ||
                            (port == "443" && (scheme == "https" || scheme == "wss"));
  if (url->has_port() && !port.empty() && !default_port) out += ":" + std::string(port);
  return out;
}

bool origin_allowed(const request& req, const server_settings& settings) {
  if (req.count(http::field::origin) > 1) return false;  // which one would the browser have meant?
  if (settings.allowed_origins.empty()) return true;
  const auto it = req.find(http::field::origin);
  if (it == req.end()) return true;  // not a browser: Origin protects browsers from cross-site pages
  const auto origin = serialized_origin(it->value());
  return std::any_of(settings.allowed_origins.begin(), settings.allowed_origins.end(),
                     [&](const std::string& allowed) { return allowed == "*" || allowed == origin; });
}

response handle_http_request(const request& req, const server_context& ctx) {
  auto url = boost::urls::parse_origin_form(req.target());
  const std::string_view path = url ? std::string_view(url->encoded_path()) : std::string_view{};
  const bool readable = req.method() == http::verb::get || req.method() == http::verb::head;

  if (path == "/health") {
    if (!readable) return text_response(req, http::status::method_not_allowed, "method not allowed\n");
    return text_response(req, http::status::ok, "ok\n");
  }
  if (path == "/ready") {
    if (!readable) return text_response(req, http::status::method_not_allowed, "method not allowed\n");
    if (ctx.draining.load()) return text_response(req, http::status::service_unavailable, "draining\n");
    if (!ctx.events.available()) return text_response(req, http::status::service_unavailable, "store unavailable\n");
    return text_response(req, http::status::ok, "ready\n");
  }
  if (auto page = serve_web_page(req, path)) return std::move(*page);
  if (match_ws_target(req.target())) {
    return text_response(req, http::status::upgrade_required, "this endpoint needs a WebSocket upgrade\n");
  }
  if (match_sse_target(req.target())) return text_response(req, http::status::method_not_allowed, "method not allowed\n");
  return text_response(req, http::status::not_found, "not found\n");
}

}  // namespace dh::net
