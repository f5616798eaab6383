// redis_url.hpp — where Redis is: `redis://[user:password@]host:port[/db]` parsed into an
// endpoint, or a one-line reason (a `rediss://` URL is refused: hiredis 0.14 here has no TLS).
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dh::store {

struct redis_endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string user;      // empty: the default user (AUTH with the password alone)
  std::string password;  // empty: no AUTH
  int db = 0;

  // host:port/db without the credentials, for logs and /status.
  std::string describe() const;
};

// The error text names what is wrong and never repeats the password.
boost::system::result<redis_endpoint, std::string> parse_redis_url(std::string_view url);

// `host:port[,host:port...]` (--redis-sentinel): Sentinel's addresses, each `[v6]:port` too.
boost::system::result<std::vector<redis_endpoint>, std::string> parse_sentinel_list(std::string_view list);

}  // namespace dh::store
