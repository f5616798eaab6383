// test_server.hpp — the real server in-process on 127.0.0.1 and a free port, on two threads,
// with an HS256 key and helpers to mint tokens. Test-only.
#pragma once

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/memory_store.hpp"
#include "app/gateway.hpp"
#include "net/server.hpp"
#include "store/redis_backend.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dh::test {

inline constexpr const char* test_secret = "test-secret-0123456789-abcdefghijklmnop";
inline constexpr const char* test_ingest_key = "test-ingest-key-0123456789";

net::server_settings default_settings();
protocol::jwt_settings hs256_settings(std::chrono::seconds leeway = std::chrono::seconds(30));

// A token signed with test_secret; exp is `ttl` from now (may be negative).
std::string make_token(const std::string& subject, std::chrono::seconds ttl = std::chrono::hours(1),
                       const std::string& claim = "sub");

// Redis mode for a test server: its own key prefix unless instances should share one.
store::redis_settings redis_test_settings(const std::string& url, const std::string& prefix);
// A key prefix no other test server in this process uses.
std::string fresh_prefix();
// Waits (10 s at most) until `events` can serve calls: in Redis mode, both connections are up and
// the bus has fixed its start position. True when it can.
bool wait_until_available(const core::event_store& events);

class test_server {
 public:
  // `store` defaults to a fresh in-memory one, or to Redis mode on shared_redis() when the suite
  // runs against Redis (DH_TEST_BACKEND=redis); pass one (e.g. SQLite) to test persistence.
  explicit test_server(net::server_settings settings = default_settings(),
                       protocol::jwt_settings jwt = hs256_settings(), core::store* store = nullptr);
  // Redis mode with these settings (two servers with one prefix are two instances of one cluster).
  test_server(store::redis_settings redis, net::server_settings settings = default_settings(),
              protocol::jwt_settings jwt = hs256_settings());
  // The hub's time is `hub_clock`'s (a manual_clock: the test moves the debounce and the window).
  test_server(net::server_settings settings, const core::clock& hub_clock);
  ~test_server();
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // A user's n-th event id as the server writes it: n in memory, above the store's epoch base in
  // Redis mode (redis_schema.hpp), so a test reads the same against both.
  std::string event_id(std::uint64_t n) const;
  std::string ws_target(const std::string& user, const std::string& token) const;
  net::server& server() noexcept { return gateway_.server(); }
  // Everything the server has logged so far (info and up), for tests of what reaches the log.
  std::string log_text() const;

 private:
  struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, file_closer> log_file_;
  boost::asio::io_context ioc_;
  core::clock clock_;
  core::logger log_;
  core::memory_store own_store_;
  boost::asio::thread_pool store_thread_{1};
  std::unique_ptr<app::local_backend> local_;
  std::unique_ptr<store::redis_backend> redis_;
  app::gateway gateway_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::jthread> threads_;
  std::uint16_t port_ = 0;

  app::backend_parts make_backend(const net::server_settings& settings, core::store* store,
                                  std::optional<store::redis_settings> redis);
  test_server(net::server_settings settings, protocol::jwt_settings jwt, core::store* store,
              std::optional<store::redis_settings> redis, const core::clock* hub_clock = nullptr);
};

}  // namespace dh::test
