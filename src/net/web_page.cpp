#include "net/web_page.hpp"

#include "net/routes.hpp"
#include "net/web_assets.hpp"

#include <algorithm>

namespace dh::net {

std::optional<response> serve_web_page(const request& req, std::string_view path) {
  const auto assets = web_assets();
  const auto it = std::find_if(assets.begin(), assets.end(), [&](const web_asset& a) { return a.route == path; });
  if (it == assets.end()) return std::nullopt;
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return make_response(http::status::method_not_allowed, "method not allowed\n", req.version(), req.keep_alive());

  const bool unchanged = req[http::field::if_none_match] == it->etag;
  auto res = make_response(unchanged ? http::status::not_modified : http::status::ok,
                           unchanged ? std::string() : std::string(it->body()), req.version(), req.keep_alive(),
                           it->content_type);
  // Revalidated on every load (a new build has a new ETag), then 304 while unchanged.
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::etag, it->etag);
  res.set("Content-Security-Policy", page_csp);
  res.set("X-Content-Type-Options", "nosniff");
  // A token may sit in the page's query string: no other site may see it as a referrer.
  res.set("Referrer-Policy", "no-referrer");
  if (unchanged) res.erase(http::field::content_type);
  res.prepare_payload();
  return res;
}

}  // namespace dh::net
