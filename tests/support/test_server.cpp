#include "support/test_server.hpp"

#include <doctest/doctest.h>

#include "protocol/jwt.hpp"
#include "support/redis_server.hpp"

#include <atomic>

#include <cstdlib>
#include <unistd.h>
#include <stdexcept>

namespace dh::test {

namespace {

// DH_TEST_LOG=debug also copies the server's log, with debug lines, to stderr when the server stops.
bool show_log() { return std::getenv("DH_TEST_LOG") != nullptr; }

core::log_level test_log_level() {
  const char* level = std::getenv("DH_TEST_LOG");
  if (level && std::string(level) == "debug") return core::log_level::debug;
  return core::log_level::info;
}

std::FILE* open_log_file() {
  std::FILE* f = std::tmpfile();
  if (f == nullptr) throw std::runtime_error("tmpfile failed for the test server's log");
  return f;
}

protocol::jwt_verifier make_verifier(protocol::jwt_settings jwt) {
  auto verifier = protocol::jwt_verifier::create(std::move(jwt));
  if (!verifier) throw std::runtime_error(verifier.error());
  return std::move(*verifier);
}

}  // namespace

net::server_settings default_settings() {
  net::server_settings s;
  s.bind = "127.0.0.1";
  s.port = 0;
  s.ingest_key = test_ingest_key;
  return s;
}

protocol::jwt_settings hs256_settings(std::chrono::seconds leeway) {
  protocol::jwt_settings s;
  s.alg = protocol::jwt_alg::hs256;
  s.key = test_secret;
  s.leeway = leeway;
  return s;
}

std::string make_token(const std::string& subject, std::chrono::seconds ttl, const std::string& claim) {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto now = std::chrono::floor<std::chrono::seconds>(since_epoch).count();
  // exp is rounded up: a token said to live 1 s must not arrive with 1 ms left, or a test of
  // expiry during a session sees the handshake refused on a slow machine.
  const auto expires = std::chrono::ceil<std::chrono::seconds>(since_epoch).count() + ttl.count();
  boost::json::object claims{{claim, subject}, {"iat", now}, {"exp", expires}};
  auto token = protocol::mint_token(protocol::jwt_alg::hs256, test_secret, claims);
  if (!token) throw std::runtime_error(token.error().message);
  return *token;
}

store::redis_settings redis_test_settings(const std::string& url, const std::string& prefix) {
  auto endpoint = store::parse_redis_url(url);
  if (!endpoint) throw std::runtime_error(endpoint.error());
  store::redis_settings s;
  s.endpoint = *endpoint;
  s.store.prefix = prefix;
  // Short, so outage tests see a reconnect quickly.
  s.timing.first = std::chrono::milliseconds(50);
  s.timing.cap = std::chrono::milliseconds(500);
  return s;
}

std::string fresh_prefix() {
  static std::atomic<int> next{0};
  return "t" + std::to_string(next.fetch_add(1)) + ":";
}

test_server::test_server(net::server_settings settings, protocol::jwt_settings jwt, core::store* store)
    : test_server(std::move(settings), std::move(jwt), store,
                  store == nullptr && redis_mode()
                      ? std::optional(redis_test_settings(shared_redis().url(), fresh_prefix()))
                      : std::nullopt) {}

test_server::test_server(store::redis_settings redis, net::server_settings settings, protocol::jwt_settings jwt)
    : test_server(std::move(settings), std::move(jwt), nullptr, std::move(redis)) {}

test_server::test_server(net::server_settings settings, const core::clock& hub_clock)
    : test_server(std::move(settings), hs256_settings(), nullptr,
                  redis_mode() ? std::optional(redis_test_settings(shared_redis().url(), fresh_prefix())) : std::nullopt,
                  &hub_clock) {}

test_server::test_server(net::server_settings settings, protocol::jwt_settings jwt, core::store* store,
                         std::optional<store::redis_settings> redis, const core::clock* hub_clock)
    : log_file_(open_log_file()),
      log_(test_log_level(), core::log_format::text, log_file_.get()),
      gateway_(ioc_, settings, make_verifier(std::move(jwt)), clock_, log_, make_backend(settings, store, std::move(redis)),
               {}, hub_clock),
      work_(ioc_.get_executor()) {
  if (redis_) redis_->start_bus();
  port_ = server().listen().port();
  for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  // Tests start once a Redis-mode server can serve them.
  if (redis_ && !wait_until_available(redis_->events()))
    throw std::runtime_error("the test server could not reach Redis");
}

std::string test_server::event_id(std::uint64_t n) const {
  return std::to_string((redis_ ? redis_->events().report().epoch_base : 0) + n);
}

bool wait_until_available(const core::event_store& events) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!events.available() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return events.available();
}

app::backend_parts test_server::make_backend(const net::server_settings& settings, core::store* store,
                                             std::optional<store::redis_settings> redis) {
  if (redis) {
    redis_ = std::make_unique<store::redis_backend>(std::move(*redis), settings.admission, log_);
    return app::parts_of(*redis_);
  }
  local_ = std::make_unique<app::local_backend>(store ? *store : own_store_, store_thread_.get_executor(),
                                                ioc_.get_executor(), settings.admission);
  return local_->parts();
}

test_server::~test_server() {
  server().shut_down();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server().connection_count() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ioc_.stop();
  for (auto& t : threads_) t.join();
  store_thread_.join();
  if (redis_) redis_->stop();  // before the hub it feeds goes
  const auto log = log_text();
  if (show_log()) std::fputs(log.c_str(), stderr);
  // No credential may reach a log line: every JWT starts with "eyJ" (base64 of '{"').
  CHECK_MESSAGE(log.find("eyJ") == std::string::npos, "a token reached the log");
  CHECK_MESSAGE(log.find(test_secret) == std::string::npos, "the JWT secret reached the log");
  CHECK_MESSAGE(log.find(test_ingest_key) == std::string::npos, "the ingest key reached the log");
}

std::string test_server::log_text() const {
  // Each log line is one fwrite and a flush; pread leaves the writer's file position alone.
  std::string text;
  char buf[4096];
  const int fd = ::fileno(log_file_.get());
  for (off_t at = 0;;) {
    const auto n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
}

std::string test_server::ws_target(const std::string& user, const std::string& token) const {
  return "/ws/dashboard/" + user + "?token=" + token;
}

}  // namespace dh::test
