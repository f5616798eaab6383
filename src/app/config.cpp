#include "app/config.hpp"

#include "app/duration.hpp"
#include "dh/version.hpp"
#include "net/forwarded.hpp"
#include "protocol/user_id.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace dh::app {

namespace po = boost::program_options;

namespace {

struct raw_options {
  std::string port = "8000", bind = "0.0.0.0", threads;
  std::string internal_port, internal_bind = "127.0.0.1";
  std::string jwt_secret, jwt_public_key, jwt_private_key, jwt_issuer, jwt_audience, jwt_leeway = "30s";
  std::string max_connections = "100000";
  std::string connection_rate = "0";
  std::string max_conns = "5", rate_limit = "10", idle_timeout = "600", ping_interval = "30";
  std::string max_message_bytes = "65536", handshake_timeout = "10s", drain_timeout = "10s";
  std::string max_queued_bytes = "4194304", max_queued_frames = "1024";
  std::vector<std::string> allowed_origins;
  std::vector<std::string> trusted_proxies;
  std::string log_level = "info", log_format = "text";
  std::string ingest_key, data_dir = "./data", history = "10000", history_age = "24h", batch_window_ms = "20";
  std::string task_cache = "100000";
  std::string max_ingest_bytes = "1048576", ack_window = "1000", dapr_pubsub = "taskpubsub", dapr_topic = "task-updates";
  std::string config_file;
  std::string redis, redis_prefix = "dh:", redis_lease_ttl = "15s";
  std::string redis_sentinel, redis_master, redis_min_replicas = "0", redis_replica_timeout = "1s";
  bool dev = false;
  bool reuse_port = false;
  std::string user, ttl = "1h";
};

po::options_description server_options(raw_options& o) {
  po::options_description d("Server options (each also as DASHBOARD_<NAME>, e.g. DASHBOARD_JWT_SECRET)");
  d.add_options()
      ("port", po::value(&o.port)->default_value(o.port), "TCP port (0 picks a free one)")
      ("bind", po::value(&o.bind)->default_value(o.bind), "address to listen on")
      ("internal-port", po::value(&o.internal_port), "serve /metrics and /status on this port only (0 picks a free one); the public port then keeps /health and /ready")
      ("internal-bind", po::value(&o.internal_bind)->default_value(o.internal_bind), "address of the internal port")
      ("reuse-port", po::bool_switch(&o.reuse_port), "SO_REUSEPORT: several instances share one port, the kernel spreads connections")
      ("threads", po::value(&o.threads), "network threads (default: number of cores)")
      ("max-connections", po::value(&o.max_connections)->default_value(o.max_connections), "sessions (WebSocket and SSE) of this instance; further ones get 503 with Retry-After")
      ("connection-rate-per-address", po::value(&o.connection_rate)->default_value(o.connection_rate), "new connections per second from one client address, bursts of twice that; beyond it 429 with Retry-After (0: off; behind a proxy, see --trust-proxy)")
      ("max-conns-per-user", po::value(&o.max_conns)->default_value(o.max_conns), "live connections per user")
      ("rate-limit", po::value(&o.rate_limit)->default_value(o.rate_limit), "client messages per second per connection (0: off)")
      ("idle-timeout", po::value(&o.idle_timeout)->default_value(o.idle_timeout), "close after no client message or pong for this long (0: never)")
      ("ping-interval", po::value(&o.ping_interval)->default_value(o.ping_interval), "WebSocket ping and SSE heartbeat every (0: never)")
      ("max-message-bytes", po::value(&o.max_message_bytes)->default_value(o.max_message_bytes), "largest client message")
      ("max-queued-bytes", po::value(&o.max_queued_bytes)->default_value(o.max_queued_bytes), "bytes waiting for one connection before it is cut as SLOW_CONSUMER")
      ("max-queued-frames", po::value(&o.max_queued_frames)->default_value(o.max_queued_frames), "messages waiting for one connection before it is cut as SLOW_CONSUMER")
      ("allowed-origin", po::value(&o.allowed_origins)->composing(), "allowed Origin for upgrades; repeat for more (default: any)")
      ("trust-proxy", po::value(&o.trusted_proxies)->composing(), "address or CIDR block of a reverse proxy whose X-Forwarded-For names the client for limits and logs; repeat or comma-separate for more (default: none, forwarded headers ignored)")
      ("handshake-timeout", po::value(&o.handshake_timeout)->default_value(o.handshake_timeout), "time allowed for the HTTP upgrade and the closing handshake")
      ("drain-timeout", po::value(&o.drain_timeout)->default_value(o.drain_timeout), "time sessions get to close on SIGTERM")
      ("log-level", po::value(&o.log_level)->default_value(o.log_level), "debug, info, warn or error")
      ("log-format", po::value(&o.log_format)->default_value(o.log_format), "text or json")
      ("dev", po::bool_switch(&o.dev), "development mode: make up a JWT secret and ingest key, print a sample token");
  return d;
}

po::options_description data_options(raw_options& o) {
  po::options_description d("Events and store");
  d.add_options()
      ("ingest-key", po::value(&o.ingest_key), "bearer key producers send to POST /api/v1/events (none: ingest off)")
      ("data-dir", po::value(&o.data_dir)->default_value(o.data_dir), "SQLite store directory (:memory: for none)")
      ("redis", po::value(&o.redis), "redis://[user:password@]host:port[/db]: store and bus in Redis, shared by every instance (instead of --data-dir)")
      ("redis-sentinel", po::value(&o.redis_sentinel), "host:port[,host:port...] of Redis Sentinel: the master named by --redis-master is found there and followed across a failover (--redis, if given, then only supplies credentials and db)")
      ("redis-master", po::value(&o.redis_master), "the master's name in Sentinel (with --redis-sentinel)")
      ("redis-min-replicas", po::value(&o.redis_min_replicas)->default_value(o.redis_min_replicas), "answer 202 only once this many replicas have the batch (WAIT), else 503 with nothing acknowledged")
      ("redis-replica-timeout", po::value(&o.redis_replica_timeout)->default_value(o.redis_replica_timeout), "how long a batch waits for --redis-min-replicas before the 503")
      ("redis-prefix", po::value(&o.redis_prefix)->default_value(o.redis_prefix), "prefix of every Redis key, so deployments can share a Redis")
      ("redis-lease-ttl", po::value(&o.redis_lease_ttl)->default_value(o.redis_lease_ttl), "connection leases of a killed instance lapse after this")
      ("task-cache", po::value(&o.task_cache)->default_value(o.task_cache), "tasks the embedded store keeps in memory; the rest are read from SQLite when an event needs them")
      ("history", po::value(&o.history)->default_value(o.history), "events kept per user for resume")
      ("history-age", po::value(&o.history_age)->default_value(o.history_age), "oldest event kept for resume")
      ("batch-window-ms", po::value(&o.batch_window_ms)->default_value(o.batch_window_ms), "task_update batching window")
      ("max-ingest-bytes", po::value(&o.max_ingest_bytes)->default_value(o.max_ingest_bytes), "largest ingest body (413 above)")
      ("ack-window", po::value(&o.ack_window)->default_value(o.ack_window), "unacked updates before SLOW_CONSUMER, for clients that ack")
      ("dapr-pubsub", po::value(&o.dapr_pubsub)->default_value(o.dapr_pubsub), "pubsub name announced on /dapr/subscribe")
      ("dapr-topic", po::value(&o.dapr_topic)->default_value(o.dapr_topic), "topic announced on /dapr/subscribe");
  return d;
}

po::options_description jwt_options(raw_options& o) {
  po::options_description d("Authentication");
  d.add_options()
      ("jwt-secret", po::value(&o.jwt_secret), "HS256 secret (at least 32 bytes)")
      ("jwt-public-key", po::value(&o.jwt_public_key), "PEM public key, or a file holding it, for RS256/ES256")
      ("jwt-private-key", po::value(&o.jwt_private_key), "PEM private key, or a file holding it, to mint RS256/ES256 tokens")
      ("jwt-issuer", po::value(&o.jwt_issuer), "required iss claim")
      ("jwt-audience", po::value(&o.jwt_audience), "required aud claim")
      ("jwt-leeway", po::value(&o.jwt_leeway)->default_value(o.jwt_leeway), "clock skew allowed on exp/nbf/iat");
  return d;
}

po::options_description general_options(raw_options& o) {
  po::options_description d("General");
  d.add_options()
      ("help,h", "print this help")
      ("version", "print the version")
      ("config", po::value(&o.config_file), "read options from this file (name = value lines)");
  return d;
}

po::options_description token_options(raw_options& o) {
  po::options_description d("dashboard-hub token");
  d.add_options()
      ("user", po::value(&o.user), "user id the token is for (required)")
      ("ttl", po::value(&o.ttl)->default_value(o.ttl), "token lifetime");
  return d;
}

std::string env_name(const std::string& option) {
  std::string name = "DASHBOARD_";
  for (char c : option) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// Environment twins become "--name=value" arguments, stored after the command line so flags win.
std::vector<std::string> environment_arguments(const po::options_description& d, const env_lookup& env) {
  std::vector<std::string> args;
  for (const auto& option : d.options()) {
    const auto& name = option->long_name();
    if (name == "help" || name == "version") continue;
    auto value = env(env_name(name));
    if (!value) continue;
    if (option->semantic()->max_tokens() == 0) {
      if (*value == "1" || *value == "true" || *value == "yes") args.push_back("--" + name);
    } else {
      args.push_back("--" + name + "=" + *value);
    }
  }
  return args;
}

template <class T>
std::optional<T> parse_number(const std::string& text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_rate(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !(v >= 0) || v > 1e6) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

struct validation_error {
  std::string message;
};

[[noreturn]] void bad(std::string_view flag, std::string_view why, std::string_view value) {
  throw validation_error{fmt::format("--{}: {} (got '{}')", flag, why, value)};
}

std::chrono::milliseconds duration_flag(std::string_view flag, const std::string& value) {
  auto d = parse_duration(value);
  if (!d) bad(flag, "expected seconds or a number with ms/s/m/h", value);
  return *d;
}

template <class T>
T integer_flag(std::string_view flag, const std::string& value, T min, T max) {
  auto n = parse_number<T>(value);
  if (!n || *n < min || *n > max) bad(flag, fmt::format("expected an integer in {}..{}", min, max), value);
  return *n;
}

// A PEM given inline or as a path to a file holding it.
std::string pem_or_file(std::string_view flag, const std::string& value) {
  if (value.find("-----BEGIN") != std::string::npos) return value;
  std::ifstream in(value, std::ios::binary);
  if (!in) bad(flag, "not a PEM key and not a readable file", value);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

config validate(const raw_options& o) {
  config c;
  auto& s = c.server;
  s.port = integer_flag<std::uint16_t>("port", o.port, 0, 65535);
  boost::system::error_code ec;
  boost::asio::ip::make_address(o.bind, ec);
  if (ec) bad("bind", "not an IP address", o.bind);
  s.bind = o.bind;
  if (!o.internal_port.empty()) s.internal_port = integer_flag<std::uint16_t>("internal-port", o.internal_port, 0, 65535);
  boost::asio::ip::make_address(o.internal_bind, ec);
  if (ec) bad("internal-bind", "not an IP address", o.internal_bind);
  s.internal_bind = o.internal_bind;
  s.reuse_port = o.reuse_port;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  c.threads = o.threads.empty() ? cores : integer_flag<unsigned>("threads", o.threads, 1, 1024);
  s.admission.max_per_user = integer_flag<std::size_t>("max-conns-per-user", o.max_conns, 1, 100000);
  s.max_connections = integer_flag<std::size_t>("max-connections", o.max_connections, 1, 10'000'000);
  const auto connection_rate = parse_rate(o.connection_rate);
  if (!connection_rate) bad("connection-rate-per-address", "expected a number of connections per second >= 0", o.connection_rate);
  s.address_limit.per_second = *connection_rate;
  const auto rate = parse_rate(o.rate_limit);
  if (!rate) bad("rate-limit", "expected a number of messages per second >= 0", o.rate_limit);
  s.rate_limit.per_second = *rate;
  s.liveness.idle_timeout = duration_flag("idle-timeout", o.idle_timeout);
  s.liveness.ping_interval = duration_flag("ping-interval", o.ping_interval);
  s.max_message_bytes = integer_flag<std::size_t>("max-message-bytes", o.max_message_bytes, 64, 16 * 1024 * 1024);
  s.outbox_max_bytes = integer_flag<std::size_t>("max-queued-bytes", o.max_queued_bytes, 1024 * 1024, std::size_t{1} << 32);
  s.outbox_capacity = integer_flag<std::size_t>("max-queued-frames", o.max_queued_frames, 16, 1'000'000);
  s.handshake_timeout = duration_flag("handshake-timeout", o.handshake_timeout);
  if (s.handshake_timeout < std::chrono::milliseconds(100)) bad("handshake-timeout", "must be at least 100ms", o.handshake_timeout);
  c.drain_timeout = duration_flag("drain-timeout", o.drain_timeout);
  for (const auto& origin : o.allowed_origins)
    if (origin.empty()) bad("allowed-origin", "must not be empty", origin);
  s.allowed_origins = o.allowed_origins;
  for (const auto& list : o.trusted_proxies) {
    auto parsed = net::parse_address_ranges(list);
    if (parsed.bad_item) bad("trust-proxy", "must be an address or a CIDR block such as 10.0.0.0/8", *parsed.bad_item);
    s.trusted_proxies.insert(s.trusted_proxies.end(), parsed.ranges.begin(), parsed.ranges.end());
  }

  s.ingest_key = o.ingest_key;
  if (!s.ingest_key.empty() && s.ingest_key.size() < 16) bad("ingest-key", "must be at least 16 characters", "<key>");
  if (s.ingest_key.empty() && o.dev) {
    s.ingest_key = random_secret();
    c.dev_ingest_key_generated = true;
  }
  if (o.data_dir.empty()) bad("data-dir", "must not be empty (use :memory: for no store)", o.data_dir);
  c.data_dir = o.data_dir;
  if (!o.redis.empty()) {
    auto endpoint = store::parse_redis_url(o.redis);
    if (!endpoint) throw validation_error{endpoint.error()};
    c.redis = *endpoint;
  }
  if (!o.redis_sentinel.empty()) {
    auto sentinels = store::parse_sentinel_list(o.redis_sentinel);
    if (!sentinels) throw validation_error{sentinels.error()};
    if (o.redis_master.empty()) bad("redis-master", "is required with --redis-sentinel", o.redis_master);
    c.redis_sentinels = std::move(*sentinels);
    c.redis_master = o.redis_master;
    if (!c.redis) c.redis = store::redis_endpoint{};  // Redis mode; the address comes from Sentinel
  } else if (!o.redis_master.empty()) {
    bad("redis-master", "needs --redis-sentinel", o.redis_master);
  }
  c.redis_min_replicas = integer_flag<unsigned>("redis-min-replicas", o.redis_min_replicas, 0, 64);
  if (c.redis_min_replicas > 0 && !c.redis) bad("redis-min-replicas", "needs --redis or --redis-sentinel", o.redis_min_replicas);
  c.redis_replica_timeout = duration_flag("redis-replica-timeout", o.redis_replica_timeout);
  if (c.redis_replica_timeout < std::chrono::milliseconds(1))
    bad("redis-replica-timeout", "must be at least 1ms", o.redis_replica_timeout);
  if (o.redis_prefix.empty() || o.redis_prefix.size() > 64) bad("redis-prefix", "must be 1-64 characters", o.redis_prefix);
  c.redis_prefix = o.redis_prefix;
  c.redis_lease_ttl = duration_flag("redis-lease-ttl", o.redis_lease_ttl);
  if (c.redis_lease_ttl < std::chrono::seconds(1)) bad("redis-lease-ttl", "must be at least 1s", o.redis_lease_ttl);
  c.history.max_events = integer_flag<std::size_t>("history", o.history, 1, 10'000'000);
  c.task_cache_rows = integer_flag<std::size_t>("task-cache", o.task_cache, 0, 100'000'000);
  c.history.max_age = duration_flag("history-age", o.history_age);
  if (c.history.max_age.count() <= 0) bad("history-age", "must be positive", o.history_age);
  s.hub.batch_window = std::chrono::milliseconds(integer_flag<std::int64_t>("batch-window-ms", o.batch_window_ms, 0, 10'000));
  s.max_ingest_bytes = integer_flag<std::size_t>("max-ingest-bytes", o.max_ingest_bytes, 1024, 256 * 1024 * 1024);
  s.hub.ack_window = integer_flag<std::size_t>("ack-window", o.ack_window, 1, 10'000'000);
  s.hub.replay_limit = c.history.max_events;
  s.dapr_pubsub = o.dapr_pubsub;
  s.dapr_topic = o.dapr_topic;

  constexpr std::string_view levels[] = {"debug", "info", "warn", "error"};
  const auto level = std::find(std::begin(levels), std::end(levels), o.log_level);
  if (level == std::end(levels)) bad("log-level", "expected debug, info, warn or error", o.log_level);
  c.log_level = static_cast<core::log_level>(level - std::begin(levels));
  if (o.log_format != "text" && o.log_format != "json") bad("log-format", "expected text or json", o.log_format);
  c.log_format = o.log_format == "json" ? core::log_format::json : core::log_format::text;

  c.dev = o.dev;
  if (!o.jwt_secret.empty() && !o.jwt_public_key.empty())
    bad("jwt-public-key", "give either --jwt-secret or --jwt-public-key, not both", "...");
  c.jwt.issuer = o.jwt_issuer;
  c.jwt.audience = o.jwt_audience;
  c.jwt.leeway = std::chrono::duration_cast<std::chrono::seconds>(duration_flag("jwt-leeway", o.jwt_leeway));
  if (!o.jwt_public_key.empty()) {
    c.jwt.key = pem_or_file("jwt-public-key", o.jwt_public_key);
    auto alg = protocol::alg_for_public_key(c.jwt.key);
    if (!alg) bad("jwt-public-key", alg.error(), "<key>");
    c.jwt.alg = *alg;
  } else if (!o.jwt_secret.empty()) {
    c.jwt.alg = protocol::jwt_alg::hs256;
    c.jwt.key = o.jwt_secret;
  } else if (c.dev) {
    c.jwt.alg = protocol::jwt_alg::hs256;
    c.jwt.key = random_secret();
    c.dev_secret_generated = true;
  } else {
    throw validation_error{"no JWT key: pass --jwt-secret (or DASHBOARD_JWT_SECRET), --jwt-public-key, or --dev"};
  }
  if (auto verifier = protocol::jwt_verifier::create(c.jwt); !verifier)
    bad(c.jwt.alg == protocol::jwt_alg::hs256 ? "jwt-secret" : "jwt-public-key", verifier.error(), "<secret>");
  if (!o.jwt_private_key.empty()) {
    c.jwt_private_key = pem_or_file("jwt-private-key", o.jwt_private_key);
    auto alg = protocol::alg_for_private_key(c.jwt_private_key);
    if (!alg) bad("jwt-private-key", alg.error(), "<key>");
    if (*alg != c.jwt.alg) bad("jwt-private-key", "does not match the verification key's algorithm", "<key>");
  }
  return c;
}

}  // namespace

env_lookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

std::string random_secret() {
  std::random_device rd;
  std::string hex;
  for (int i = 0; i < 8; ++i) hex += fmt::format("{:08x}", rd());
  return hex;
}

boost::system::result<invocation, std::string> parse_invocation(const std::vector<std::string>& args,
                                                                 const env_lookup& env) {
  raw_options raw;
  invocation out;
  std::vector<std::string> rest(args.size() > 1 ? args.begin() + 1 : args.end(), args.end());
  const bool token_command = !rest.empty() && rest.front() == "token";
  if (token_command) rest.erase(rest.begin());

  po::options_description all;
  all.add(general_options(raw)).add(server_options(raw)).add(jwt_options(raw)).add(data_options(raw));
  if (token_command) all.add(token_options(raw));
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(rest).options(all).run(), vm);
    po::store(po::command_line_parser(environment_arguments(all, env)).options(all).run(), vm);
    if (vm.count("config")) {
      const auto file = vm["config"].as<std::string>();
      std::ifstream in(file);
      if (!in) return fmt::format("--config: cannot read '{}'", file);
      po::store(po::parse_config_file(in, all), vm);
    }
    po::notify(vm);
    if (vm.count("help")) {
      std::ostringstream text;
      text << "dashboard-hub " << dh::version << " — real-time task and dashboard updates over WebSocket\n\n"
           << "Usage: dashboard-hub [options]\n       dashboard-hub token --user ID [--ttl 1h] [options]\n\n"
           << all;
      out.what = command::help;
      out.help = text.str();
      return out;
    }
    if (vm.count("version")) {
      out.what = command::version;
      return out;
    }
    out.settings = validate(raw);
    if (token_command) {
      out.what = command::token;
      if (!protocol::is_valid_user_id(raw.user)) return std::string("--user: a user id [A-Za-z0-9._-]{1,64} is required");
      out.token.user = raw.user;
      out.token.ttl = std::chrono::duration_cast<std::chrono::seconds>(duration_flag("ttl", raw.ttl));
      if (out.token.ttl.count() <= 0) return std::string("--ttl: must be at least 1s");
    }
    return out;
  } catch (const validation_error& e) {
    return e.message;
  } catch (const po::error& e) {
    return std::string(e.what());
  }
}

boost::system::result<std::string, protocol::mint_error> mint_user_token(const config& cfg, std::string_view user,
                                                                std::chrono::seconds ttl,
                                                                std::chrono::system_clock::time_point now) {
  const bool hmac = cfg.jwt.alg == protocol::jwt_alg::hs256;
  if (!hmac && cfg.jwt_private_key.empty())
    return protocol::mint_error{"minting an RS256/ES256 token needs --jwt-private-key"};
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  boost::json::object claims{{"sub", std::string(user)}, {"iat", iat}, {"exp", iat + ttl.count()}};
  if (!cfg.jwt.issuer.empty()) claims["iss"] = cfg.jwt.issuer;
  if (!cfg.jwt.audience.empty()) claims["aud"] = cfg.jwt.audience;
  return protocol::mint_token(cfg.jwt.alg, hmac ? std::string_view(cfg.jwt.key) : cfg.jwt_private_key, claims);
}

}  // namespace dh::app
