#include "store/redis_url.hpp"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <charconv>

namespace dh::store {

std::string redis_endpoint::describe() const { return fmt::format("{}:{}/{}", host, port, db); }

namespace {
// Spelled out: a redis_endpoint could itself be made from a string.
boost::system::result<redis_endpoint, std::string> refuse(std::string why) {
  return {boost::system::in_place_error, std::move(why)};
}
}  // namespace

boost::system::result<redis_endpoint, std::string> parse_redis_url(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url) return refuse(std::string("--redis: not a URL; expected redis://[user:password@]host:port[/db]"));
  if (url->scheme() == "rediss")
    return refuse(std::string("--redis: rediss:// (TLS) is not supported by this build's hiredis 0.14; use redis:// on a trusted network or a TLS tunnel"));
  if (url->scheme() != "redis") return refuse(fmt::format("--redis: scheme '{}' is not redis://", url->scheme()));
  if (url->has_query() || url->has_fragment()) return refuse(std::string("--redis: query and fragment are not supported"));

  redis_endpoint ep;
  if (url->host().empty()) return refuse(std::string("--redis: the URL names no host"));
  ep.host = url->host_type() == boost::urls::host_type::ipv6 ? url->host_ipv6_address().to_string()
                                                             : std::string(url->host_address());
  if (url->has_port()) {
    const auto port = url->port_number();
    if (port == 0) return refuse(std::string("--redis: the port must be 1-65535"));
    ep.port = port;
  }
  if (url->has_userinfo()) {
    ep.user = url->user();
    ep.password = url->password();
    // redis://:secret@host is the password alone, for the default user.
  }
  std::string_view path = url->encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    int db = -1;
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc() || end != path.data() + path.size() || db < 0 || db > 15)
      return refuse(fmt::format("--redis: database '{}' must be a number 0-15", path));
    ep.db = db;
  }
  return {boost::system::in_place_value, std::move(ep)};
}

boost::system::result<std::vector<redis_endpoint>, std::string> parse_sentinel_list(std::string_view list) {
  std::vector<redis_endpoint> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const auto colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return {boost::system::in_place_error, fmt::format("--redis-sentinel: '{}' is not host:port", item)};
    std::string_view host = item.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto digits = item.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return {boost::system::in_place_error, fmt::format("--redis-sentinel: port '{}' must be 1-65535", digits)};
    redis_endpoint ep;
    ep.host = std::string(host);
    ep.port = static_cast<std::uint16_t>(port);
    out.push_back(std::move(ep));
  }
  if (out.empty()) return {boost::system::in_place_error, std::string("--redis-sentinel: no address given")};
  return {boost::system::in_place_value, std::move(out)};
}

}  // namespace dh::store
