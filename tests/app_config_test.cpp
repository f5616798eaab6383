// app_config_test.cpp — command line, DASHBOARD_* environment twins and validation (SPEC §4):
// defaults, one-line errors naming the flag, durations, subcommands, keys and token minting.
#include "app/config.hpp"
#include "app/duration.hpp"
#include "support/paths.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace app_config_test {  // unity builds compile several test files as one unit

using namespace dh::app;
using namespace std::chrono_literals;
using dh::protocol::jwt_alg;
using dh::protocol::jwt_verifier;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef";
const std::chrono::system_clock::time_point fixed_now =
    std::chrono::sys_days{std::chrono::year{2026} / 1 / 3} + std::chrono::hours{10};

env_lookup env_from(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const env_lookup no_env = env_from({});

std::string data_file(std::string_view name) { return std::string(dh::test::test_data_dir) + "/" + std::string(name); }

std::vector<std::string> argv_of(std::initializer_list<std::string> args) {
  std::vector<std::string> out{"dashboard-hub"};
  out.insert(out.end(), args);
  return out;
}

invocation parsed(const std::vector<std::string>& args, const env_lookup& env = no_env) {
  auto r = parse_invocation(args, env);
  REQUIRE_MESSAGE(r.has_value(), "error: " << (r ? std::string() : r.error()));
  return *r;
}

std::string error_of(const std::vector<std::string>& args, const env_lookup& env = no_env) {
  auto r = parse_invocation(args, env);
  REQUIRE_MESSAGE(!r.has_value(), "unexpectedly accepted");
  CHECK(r.error().find('\n') == std::string::npos);  // one line
  return r.error();
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

}  // namespace

TEST_CASE("config defaults") {
  const auto inv = parsed(argv_of({"--jwt-secret", secret}));
  CHECK(inv.what == command::serve);
  const auto& c = inv.settings;
  CHECK(c.server.port == 8000);
  CHECK(c.server.bind == "0.0.0.0");
  CHECK(c.server.admission.max_per_user == 5u);
  CHECK(c.server.rate_limit.per_second == doctest::Approx(10.0));
  CHECK(c.server.liveness.idle_timeout == 600s);
  CHECK(c.server.liveness.ping_interval == 30s);
  CHECK(c.server.max_message_bytes == 64u * 1024u);
  CHECK(c.server.outbox_max_bytes == 4u * 1024u * 1024u);
  CHECK(c.server.outbox_capacity == 1024u);
  CHECK_FALSE(c.server.reuse_port);
  CHECK_FALSE(c.redis.has_value());  // embedded SQLite unless --redis
  CHECK(c.redis_prefix == "dh:");
  CHECK(c.redis_lease_ttl == 15s);
  CHECK(c.server.handshake_timeout == 10s);
  CHECK(c.server.allowed_origins.empty());
  CHECK(c.drain_timeout == 10s);
  CHECK(c.threads >= 1u);
  CHECK(c.log_level == dh::core::log_level::info);
  CHECK(c.log_format == dh::core::log_format::text);
  CHECK_FALSE(c.dev);
  CHECK_FALSE(c.dev_secret_generated);
  CHECK(c.jwt.alg == jwt_alg::hs256);
  CHECK(c.jwt.key == secret);
  CHECK(c.jwt.leeway == 30s);
  CHECK(c.jwt.issuer.empty());
  CHECK(c.jwt.audience.empty());
}

TEST_CASE("config accepts explicit values") {
  const auto c = parsed(argv_of({"--jwt-secret", secret, "--port", "9001", "--bind", "127.0.0.1", "--threads", "3",
                                 "--max-conns-per-user", "2", "--rate-limit", "2.5", "--max-message-bytes", "1024",
                                 "--allowed-origin", "https://a.example", "--allowed-origin", "https://b.example",
                                 "--log-level", "debug", "--log-format", "json", "--jwt-issuer", "auth",
                                 "--jwt-audience", "dash", "--jwt-leeway", "5s", "--max-queued-bytes", "2097152",
                                 "--max-queued-frames", "64", "--reuse-port", "--redis", "redis://:pw@10.0.0.5:6380/2",
                                 "--redis-prefix", "team-a:", "--redis-lease-ttl", "5s"}))
                     .settings;
  CHECK(c.server.reuse_port);
  REQUIRE(c.redis.has_value());
  CHECK(c.redis->host == "10.0.0.5");
  CHECK(c.redis->port == 6380);
  CHECK(c.redis->db == 2);
  CHECK(c.redis->password == "pw");
  CHECK(c.redis_prefix == "team-a:");
  CHECK(c.redis_lease_ttl == 5s);
  CHECK(c.server.outbox_max_bytes == 2u * 1024u * 1024u);
  CHECK(c.server.outbox_capacity == 64u);
  CHECK(c.server.port == 9001);
  CHECK(c.server.bind == "127.0.0.1");
  CHECK(c.threads == 3u);
  CHECK(c.server.admission.max_per_user == 2u);
  CHECK(c.server.rate_limit.per_second == doctest::Approx(2.5));
  CHECK(c.server.max_message_bytes == 1024u);
  CHECK(c.server.allowed_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
  CHECK(c.log_level == dh::core::log_level::debug);
  CHECK(c.log_format == dh::core::log_format::json);
  CHECK(c.jwt.issuer == "auth");
  CHECK(c.jwt.audience == "dash");
  CHECK(c.jwt.leeway == 5s);
}

TEST_CASE("config: Sentinel, replicas and the internal port") {
  const auto c = parsed(argv_of({"--jwt-secret", secret, "--redis-sentinel", "10.0.0.1:26379,[::1]:26380",
                                 "--redis-master", "mymaster", "--redis", "redis://:pw@ignored:1/3",
                                 "--redis-min-replicas", "2", "--redis-replica-timeout", "250ms", "--internal-port",
                                 "9100", "--internal-bind", "0.0.0.0"}))
                     .settings;
  REQUIRE(c.redis_sentinels.size() == 2);
  CHECK(c.redis_sentinels[0].host == "10.0.0.1");
  CHECK(c.redis_sentinels[0].port == 26379);
  CHECK(c.redis_sentinels[1].host == "::1");
  CHECK(c.redis_sentinels[1].port == 26380);
  CHECK(c.redis_master == "mymaster");
  REQUIRE(c.redis.has_value());  // the credentials and db; the address comes from Sentinel
  CHECK(c.redis->password == "pw");
  CHECK(c.redis->db == 3);
  CHECK(c.redis_min_replicas == 2u);
  CHECK(c.redis_replica_timeout == 250ms);
  CHECK(c.server.internal_port == std::optional<std::uint16_t>(9100));
  CHECK(c.server.internal_bind == "0.0.0.0");

  const auto alone = parsed(argv_of({"--jwt-secret", secret, "--redis-sentinel", "127.0.0.1:26379", "--redis-master", "m"}))
                         .settings;
  CHECK(alone.redis.has_value());  // Redis mode with Sentinel alone
  CHECK_FALSE(parsed(argv_of({"--jwt-secret", secret})).settings.server.internal_port.has_value());
}

TEST_CASE("config: each bad value is one line starting with the flag name") {
  struct bad_value {
    std::string flag;
    std::vector<std::string> args;
  };
  const std::vector<bad_value> cases = {
      {"--port", {"--port=abc"}},
      {"--port", {"--port=65536"}},
      {"--port", {"--port=-1"}},
      {"--port", {"--port=80x"}},
      {"--bind", {"--bind=not-an-ip"}},
      {"--internal-bind", {"--internal-bind=nope"}},
      {"--internal-port", {"--internal-port=70000"}},
      {"--redis-master", {"--redis-master=m"}},
      {"--redis-master", {"--redis-sentinel=127.0.0.1:26379"}},
      {"--redis-sentinel", {"--redis-sentinel=127.0.0.1", "--redis-master=m"}},
      {"--redis-sentinel", {"--redis-sentinel=127.0.0.1:0", "--redis-master=m"}},
      {"--redis-min-replicas", {"--redis-min-replicas=1"}},
      {"--redis-min-replicas", {"--redis-min-replicas=-1", "--redis=redis://127.0.0.1:6379"}},
      {"--threads", {"--threads=0"}},
      {"--threads", {"--threads=many"}},
      {"--max-conns-per-user", {"--max-conns-per-user=0"}},
      {"--max-conns-per-user", {"--max-conns-per-user=five"}},
      {"--rate-limit", {"--rate-limit=-1"}},
      {"--rate-limit", {"--rate-limit=fast"}},
      {"--rate-limit", {"--rate-limit=nan"}},
      {"--rate-limit", {"--rate-limit=10/s"}},
      {"--idle-timeout", {"--idle-timeout=10x"}},
      {"--idle-timeout", {"--idle-timeout=-5"}},
      {"--idle-timeout", {"--idle-timeout=1.5h"}},
      {"--ping-interval", {"--ping-interval=abc"}},
      {"--ping-interval", {"--ping-interval=10 s"}},
      {"--max-message-bytes", {"--max-message-bytes=10"}},
      {"--max-message-bytes", {"--max-message-bytes=64k"}},
      {"--max-queued-bytes", {"--max-queued-bytes=65536"}},  // below one task_batch frame's worth
      {"--max-queued-bytes", {"--max-queued-bytes=4M"}},
      {"--max-queued-frames", {"--max-queued-frames=8"}},
      {"--handshake-timeout", {"--handshake-timeout=50ms"}},
      {"--handshake-timeout", {"--handshake-timeout=soon"}},
      {"--drain-timeout", {"--drain-timeout=later"}},
      {"--trust-proxy", {"--trust-proxy=10.0.0.0/33"}},
      {"--trust-proxy", {"--trust-proxy=10.0.0.1,nginx"}},
      {"--redis", {"--redis=rediss://cache:6379"}},
      {"--redis", {"--redis=redis://cache:6379/99"}},
      {"--redis", {"--redis=cache:6379"}},
      {"--redis-prefix", {"--redis-prefix=" + std::string(65, 'p')}},
      {"--redis-lease-ttl", {"--redis-lease-ttl=100ms"}},
      {"--log-level", {"--log-level=loud"}},
      {"--log-format", {"--log-format=xml"}},
      {"--jwt-leeway", {"--jwt-leeway=lots"}},
      {"--jwt-secret", {"--jwt-secret=too-short"}},
      {"--jwt-public-key", {"--jwt-public-key=/nonexistent/key.pem"}},
      {"--jwt-public-key", {"--jwt-public-key=" + data_file("README.md")}},
      {"--jwt-public-key", {"--jwt-public-key=" + data_file("rsa_public.pem"), "--jwt-secret=" + secret}},
      {"--jwt-private-key", {"--jwt-secret=" + secret, "--jwt-private-key=/nonexistent/key.pem"}},
      {"--jwt-private-key",
       {"--jwt-public-key=" + data_file("rsa_public.pem"), "--jwt-private-key=" + data_file("ec_private.pem")}},
      {"--jwt-private-key",
       {"--jwt-public-key=" + data_file("rsa_public.pem"), "--jwt-private-key=" + data_file("rsa_public.pem")}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"dashboard-hub"};
    if (c.flag != "--jwt-secret" && c.flag != "--jwt-public-key" && c.flag != "--jwt-private-key")
      args.push_back("--jwt-secret=" + secret);
    args.insert(args.end(), c.args.begin(), c.args.end());
    CAPTURE(c.args.front());
    const auto message = error_of(args);
    CAPTURE(message);
    CHECK(starts_with(message, c.flag + ": "));
  }
}

TEST_CASE("config errors never echo a secret") {
  const std::string short_secret = "hunter2-is-short";
  const auto message = error_of(argv_of({"--jwt-secret", short_secret}));
  CHECK(starts_with(message, "--jwt-secret: "));
  CHECK(message.find(short_secret) == std::string::npos);
}

TEST_CASE("config: unknown flag is an error") {
  const auto message = error_of(argv_of({"--jwt-secret", secret, "--no-such-flag"}));
  CHECK(message.find("no-such-flag") != std::string::npos);
  SUBCASE("token-only flags are unknown outside the token command") {
    const auto m = error_of(argv_of({"--jwt-secret", secret, "--user", "1"}));
    CHECK(m.find("user") != std::string::npos);
  }
  SUBCASE("a flag without its value") { CHECK_FALSE(error_of(argv_of({"--jwt-secret", secret, "--port"})).empty()); }
}

TEST_CASE("config: environment twins") {
  SUBCASE("DASHBOARD_PORT sets the port") {
    const auto c = parsed(argv_of({"--jwt-secret", secret}), env_from({{"DASHBOARD_PORT", "9100"}})).settings;
    CHECK(c.server.port == 9100);
  }
  SUBCASE("the command line wins over the environment") {
    const auto c =
        parsed(argv_of({"--jwt-secret", secret, "--port", "9200"}), env_from({{"DASHBOARD_PORT", "9100"}})).settings;
    CHECK(c.server.port == 9200);
  }
  SUBCASE("DASHBOARD_JWT_SECRET supplies the key") {
    const auto c = parsed(argv_of({}), env_from({{"DASHBOARD_JWT_SECRET", secret}})).settings;
    CHECK(c.jwt.alg == jwt_alg::hs256);
    CHECK(c.jwt.key == secret);
  }
  SUBCASE("multi-word names use underscores") {
    const auto c = parsed(argv_of({"--jwt-secret", secret}),
                          env_from({{"DASHBOARD_MAX_CONNS_PER_USER", "7"}, {"DASHBOARD_IDLE_TIMEOUT", "2m"},
                                    {"DASHBOARD_RATE_LIMIT", "0"}}))
                       .settings;
    CHECK(c.server.admission.max_per_user == 7u);
    CHECK(c.server.liveness.idle_timeout == 120s);
    CHECK(c.server.rate_limit.per_second == doctest::Approx(0.0));
  }
  SUBCASE("DASHBOARD_TRUST_PROXY takes a comma-separated list, --trust-proxy repeats") {
    const auto c = parsed(argv_of({"--jwt-secret", secret, "--trust-proxy", "::1"}),
                          env_from({{"DASHBOARD_TRUST_PROXY", "10.0.0.0/8, 127.0.0.1"}}))
                       .settings;
    REQUIRE(c.server.trusted_proxies.size() == 3);
    CHECK(c.server.trusted_proxies[0].contains(boost::asio::ip::make_address("::1")));
    CHECK(c.server.trusted_proxies[1].contains(boost::asio::ip::make_address("10.9.8.7")));
    CHECK(c.server.trusted_proxies[2].prefix == 32);
  }
  SUBCASE("a bad environment value names the flag") {
    const auto message = error_of(argv_of({"--jwt-secret", secret}), env_from({{"DASHBOARD_PORT", "http"}}));
    CHECK(starts_with(message, "--port: "));
  }
  SUBCASE("unrelated variables are ignored") {
    const auto c = parsed(argv_of({"--jwt-secret", secret}), env_from({{"PORT", "1"}, {"DASHBOARD_NOPE", "x"}})).settings;
    CHECK(c.server.port == 8000);
  }
}

TEST_CASE("config: --dev and DASHBOARD_DEV") {
  SUBCASE("DASHBOARD_DEV=1 turns dev mode on and makes a secret") {
    const auto c = parsed(argv_of({}), env_from({{"DASHBOARD_DEV", "1"}})).settings;
    CHECK(c.dev);
    CHECK(c.dev_secret_generated);
    CHECK(c.jwt.alg == jwt_alg::hs256);
    CHECK(c.jwt.key.size() >= 32u);
  }
  SUBCASE("DASHBOARD_DEV=0 does not") {
    const auto message = error_of(argv_of({}), env_from({{"DASHBOARD_DEV", "0"}}));
    CHECK(message.find("JWT") != std::string::npos);
  }
  SUBCASE("--dev makes a fresh secret each time") {
    const auto a = parsed(argv_of({"--dev"})).settings;
    const auto b = parsed(argv_of({"--dev"})).settings;
    CHECK(a.dev);
    CHECK(a.dev_secret_generated);
    CHECK(a.jwt.key.size() >= 32u);
    CHECK(a.jwt.key != b.jwt.key);
    CHECK(jwt_verifier::create(a.jwt).has_value());
  }
  SUBCASE("--dev keeps a given secret") {
    const auto c = parsed(argv_of({"--dev", "--jwt-secret", secret})).settings;
    CHECK(c.dev);
    CHECK_FALSE(c.dev_secret_generated);
    CHECK(c.jwt.key == secret);
  }
}

TEST_CASE("config: missing key without --dev is an error") {
  const auto message = error_of(argv_of({}));
  CHECK(message.find("--jwt-secret") != std::string::npos);
}

TEST_CASE("config: duration flags take seconds or a unit suffix") {
  const auto with = [](std::string idle, std::string ping) {
    return parsed(argv_of({"--jwt-secret", secret, "--idle-timeout", idle, "--ping-interval", ping})).settings;
  };
  CHECK(with("90", "500ms").server.liveness.idle_timeout == 90s);
  CHECK(with("90", "500ms").server.liveness.ping_interval == 500ms);
  CHECK(with("10s", "10m").server.liveness.idle_timeout == 10s);
  CHECK(with("10s", "10m").server.liveness.ping_interval == 10min);
  CHECK(with("1h", "0").server.liveness.idle_timeout == 1h);
  CHECK(with("1h", "0").server.liveness.ping_interval == 0s);
  CHECK(parsed(argv_of({"--jwt-secret", secret, "--drain-timeout", "250ms"})).settings.drain_timeout == 250ms);
  CHECK(parsed(argv_of({"--jwt-secret", secret, "--handshake-timeout", "100ms"})).settings.server.handshake_timeout ==
        100ms);
}

TEST_CASE("config: --help and --version") {
  SUBCASE("--help") {
    const auto inv = parsed(argv_of({"--help"}));
    CHECK(inv.what == command::help);
    CHECK(inv.help.find("--port") != std::string::npos);
    CHECK(inv.help.find("--jwt-secret") != std::string::npos);
    CHECK(inv.help.find("token") != std::string::npos);
  }
  SUBCASE("-h") { CHECK(parsed(argv_of({"-h"})).what == command::help); }
  SUBCASE("--help needs no key") { CHECK(parsed(argv_of({"--help"})).what == command::help); }
  SUBCASE("--version") { CHECK(parsed(argv_of({"--version"})).what == command::version); }
  SUBCASE("token --help lists the token flags") {
    const auto inv = parsed(argv_of({"token", "--help"}));
    CHECK(inv.what == command::help);
    CHECK(inv.help.find("--user") != std::string::npos);
    CHECK(inv.help.find("--ttl") != std::string::npos);
  }
}

TEST_CASE("config: the token subcommand") {
  SUBCASE("--user and --ttl") {
    const auto inv = parsed(argv_of({"token", "--user", "1", "--ttl", "10m", "--jwt-secret", secret}));
    CHECK(inv.what == command::token);
    CHECK(inv.token.user == "1");
    CHECK(inv.token.ttl == 600s);
  }
  SUBCASE("the ttl defaults to an hour") {
    const auto inv = parsed(argv_of({"token", "--user", "user-456", "--dev"}));
    CHECK(inv.what == command::token);
    CHECK(inv.token.user == "user-456");
    CHECK(inv.token.ttl == 1h);
  }
  SUBCASE("--user is required and must be a valid id") {
    CHECK(starts_with(error_of(argv_of({"token", "--jwt-secret", secret})), "--user: "));
    CHECK(starts_with(error_of(argv_of({"token", "--user", "a b", "--jwt-secret", secret})), "--user: "));
    CHECK(starts_with(error_of(argv_of({"token", "--user", std::string(65, 'a'), "--jwt-secret", secret})),
                      "--user: "));
  }
  SUBCASE("--ttl must be a duration of at least a second") {
    CHECK(starts_with(error_of(argv_of({"token", "--user", "1", "--ttl", "soon", "--jwt-secret", secret})), "--ttl: "));
    CHECK(starts_with(error_of(argv_of({"token", "--user", "1", "--ttl", "500ms", "--jwt-secret", secret})), "--ttl: "));
    CHECK(starts_with(error_of(argv_of({"token", "--user", "1", "--ttl", "0", "--jwt-secret", secret})), "--ttl: "));
  }
  SUBCASE("the token command still needs a key") {
    CHECK(error_of(argv_of({"token", "--user", "1"})).find("JWT") != std::string::npos);
  }
}

TEST_CASE("config: --jwt-public-key selects the algorithm from the key") {
  SUBCASE("RSA key file") {
    const auto c = parsed(argv_of({"--jwt-public-key", data_file("rsa_public.pem")})).settings;
    CHECK(c.jwt.alg == jwt_alg::rs256);
    CHECK(c.jwt.key.find("-----BEGIN PUBLIC KEY-----") != std::string::npos);
  }
  SUBCASE("EC key file") {
    const auto c = parsed(argv_of({"--jwt-public-key", data_file("ec_public.pem")})).settings;
    CHECK(c.jwt.alg == jwt_alg::es256);
  }
  SUBCASE("inline PEM") {
    const auto file = parsed(argv_of({"--jwt-public-key", data_file("rsa_public.pem")})).settings.jwt.key;
    const auto c = parsed(argv_of({"--jwt-public-key", file})).settings;
    CHECK(c.jwt.alg == jwt_alg::rs256);
    CHECK(c.jwt.key == file);
  }
}

TEST_CASE("config: mint_user_token verifies with the configured verifier") {
  SUBCASE("HS256") {
    const auto c = parsed(argv_of({"--jwt-secret", secret, "--jwt-issuer", "auth", "--jwt-audience", "dash"})).settings;
    const auto token = mint_user_token(c, "user-456", 600s, fixed_now);
    REQUIRE(token.has_value());
    const auto verifier = jwt_verifier::create(c.jwt);
    REQUIRE(verifier.has_value());
    const auto verified = verifier->verify(*token, fixed_now);
    REQUIRE_MESSAGE(verified.has_value(), (verified ? std::string() : verified.error().message));
    CHECK(verified->subject == "user-456");
    CHECK(verified->expires_at == fixed_now + 600s);
    // The ttl is honoured: past exp and the leeway the same token is expired.
    const auto later = verifier->verify(*token, fixed_now + 600s + c.jwt.leeway + 1s);
    REQUIRE_FALSE(later.has_value());
    CHECK(later.error().code == dh::protocol::errc::auth_expired);
  }
  SUBCASE("RS256 with --jwt-private-key") {
    const auto c = parsed(argv_of({"--jwt-public-key", data_file("rsa_public.pem"), "--jwt-private-key",
                                   data_file("rsa_private.pem")}))
                       .settings;
    const auto token = mint_user_token(c, "1", 3600s, fixed_now);
    REQUIRE(token.has_value());
    const auto verifier = jwt_verifier::create(c.jwt);
    REQUIRE(verifier.has_value());
    const auto verified = verifier->verify(*token, fixed_now);
    REQUIRE(verified.has_value());
    CHECK(verified->subject == "1");
  }
  SUBCASE("ES256 with --jwt-private-key") {
    const auto c = parsed(argv_of({"--jwt-public-key", data_file("ec_public.pem"), "--jwt-private-key",
                                   data_file("ec_private.pem")}))
                       .settings;
    const auto token = mint_user_token(c, "1", 3600s, fixed_now);
    REQUIRE(token.has_value());
    const auto verifier = jwt_verifier::create(c.jwt);
    REQUIRE(verifier.has_value());
    CHECK(verifier->verify(*token, fixed_now).has_value());
  }
  SUBCASE("RS256 without a private key cannot mint") {
    const auto c = parsed(argv_of({"--jwt-public-key", data_file("rsa_public.pem")})).settings;
    const auto token = mint_user_token(c, "1", 3600s, fixed_now);
    REQUIRE_FALSE(token.has_value());
    CHECK(token.error().message.find("--jwt-private-key") != std::string::npos);
  }
}

TEST_CASE("random_secret") {
  const auto a = random_secret();
  const auto b = random_secret();
  CHECK(a.size() == 64u);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("parse_duration") {
  SUBCASE("accepted forms") {
    CHECK(parse_duration("0") == 0ms);
    CHECK(parse_duration("600") == 600s);
    CHECK(parse_duration("500ms") == 500ms);
    CHECK(parse_duration("10s") == 10s);
    CHECK(parse_duration("10m") == 10min);
    CHECK(parse_duration("1h") == 1h);
    CHECK(parse_duration("0ms") == 0ms);
    CHECK(parse_duration("8760h") == 8760h);  // a year is the limit
    CHECK(parse_duration("31536000") == 31536000s);
    CHECK(parse_duration("31536000000ms") == 31536000000ms);
  }
  SUBCASE("rejected forms") {
    for (std::string_view text : {"", "s", "ms", "-1", "-1s", "+1s", "1.5s", "1.5", "10x", "10 s", " 10", "10 ",
                                  "10S", "10M", "1d", "10sec", "10mss", "0x10", "8761h", "31536001",
                                  "525601m", "99999999999999999999999"}) {
      CAPTURE(text);
      CHECK_FALSE(parse_duration(text).has_value());
    }
  }
}

}  // namespace app_config_test
