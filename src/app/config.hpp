// config.hpp — flags, their DASHBOARD_* environment twins and an optional --config file, parsed
// once into one validated struct before anything starts. A bad value is a one-line message.
#pragma once

#include "core/logger.hpp"
#include "net/server.hpp"
#include "store/redis_url.hpp"
#include "protocol/jwt.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dh::app {

struct config {
  net::server_settings server;
  protocol::jwt_settings jwt;
  std::string jwt_private_key;  // PEM, only for minting RS256/ES256 tokens
  unsigned threads = 1;
  bool dev = false;
  bool dev_secret_generated = false;  // --dev made up the HS256 secret
  std::string data_dir = "./data";  // ":memory:" keeps everything in memory (nothing survives a restart)
  core::history_settings history;
  std::size_t task_cache_rows = 100'000;  // embedded store: tasks kept in memory
  std::optional<store::redis_endpoint> redis;  // set: Redis mode (data_dir unused)
  std::vector<store::redis_endpoint> redis_sentinels;  // set: redis's host and port come from Sentinel
  std::string redis_master;  // its name there
  unsigned redis_min_replicas = 0;
  std::chrono::milliseconds redis_replica_timeout{1000};
  std::string redis_prefix = "dh:";
  std::chrono::milliseconds redis_lease_ttl{15'000};
  bool dev_ingest_key_generated = false;
  core::log_level log_level = core::log_level::info;
  core::log_format log_format = core::log_format::text;
  std::chrono::milliseconds drain_timeout{10'000};
};

struct token_request {
  std::string user;
  std::chrono::seconds ttl{3600};
};

enum class command { serve, token, help, version };

struct invocation {
  command what = command::serve;
  config settings;
  token_request token;
  std::string help;  // filled for command::help
};

// Looks up an environment variable; injectable so tests do not touch the real environment.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
env_lookup process_environment();

// argv[0] is the program name. Errors are one line, without the program name.
boost::system::result<invocation, std::string> parse_invocation(const std::vector<std::string>& args,
                                                                 const env_lookup& env);

// A random 256-bit secret, hex-encoded, for --dev.
std::string random_secret();

// Mints a token for `user` valid for `ttl` with the configured key (secret or private key).
boost::system::result<std::string, protocol::mint_error> mint_user_token(const config& cfg, std::string_view user,
                                                                std::chrono::seconds ttl,
                                                                std::chrono::system_clock::time_point now);

}  // namespace dh::app
