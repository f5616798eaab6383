#include "net/web_page.hpp"

#include "net/routes.hpp"
#include "net/web_assets.hpp"

#include <algorithm>

namespace dh::net {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match uses the weak comparison (RFC 9110 §13.1.2): any listed tag, W/ or not, or "*".
bool matches_etag(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    auto tag = trim(if_none_match.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<response> serve_web_page(const request& req, std::string_view path) {
  const auto assets = web_assets();
  const auto it = std::find_if(assets.begin(), assets.end(), [&](const web_asset& a) { return a.route == path; });
  if (it == assets.end()) return std::nullopt;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = make_response(http::status::method_not_allowed, "method not allowed\n", req.version(), req.keep_alive());
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }

  const bool unchanged = matches_etag(req[http::field::if_none_match], it->etag);
  auto res = make_response(unchanged ? http::status::not_modified : http::status::ok,
                           unchanged ? std::string() : std::string(it->body()), req.version(), req.keep_alive(),
                           it->content_type);
  // Revalidated on every load (a new build has a new ETag), then 304 while unchanged.
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::etag, it->etag);
  res.set("Content-Security-Policy", page_csp);
  res.set("X-Content-Type-Options", "nosniff");
  // A token may sit in the page's address: no other site may see it as a referrer.
  res.set("Referrer-Policy", "no-referrer");
  if (unchanged) {
    // A 304 describes the 200 it stands for: no Content-Length of its own empty body.
    res.erase(http::field::content_type);
    res.erase(http::field::content_length);
  }
  return res;
}

}  // namespace dh::net
