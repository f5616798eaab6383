#include "app/run.hpp"

#include "app/dev_secrets.hpp"

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "dh/version.hpp"
#include "app/gateway.hpp"
#include "core/memory_store.hpp"
#include "store/redis_backend.hpp"
#include "store/sqlite_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace dh::app {

namespace asio = boost::asio;

namespace {

// Waits until every session has closed or the drain deadline passes, then stops the loop.
asio::awaitable<void> drain(asio::io_context& ioc, const net::server& srv, std::chrono::milliseconds timeout,
                            const core::logger& log) {
  asio::steady_timer timer(ioc);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (srv.connection_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (srv.connection_count() > 0)
    log.warn("drain timeout: {} sessions still open, stopping anyway", srv.connection_count());
  ioc.stop();
}

void print_dev_banner(const config& cfg, std::uint16_t port, const std::string& kept) {
  const std::string host = cfg.server.bind == "0.0.0.0" || cfg.server.bind == "::" ? "127.0.0.1" : cfg.server.bind;
  auto token = mint_user_token(cfg, "1", std::chrono::hours(24), std::chrono::system_clock::now());
  fmt::print("\n  dashboard-hub {} in development mode\n", dh::version);
  if (cfg.dev_secret_generated) fmt::print("  JWT secret (HS256, made up): {}\n", cfg.jwt.key);
  if (cfg.dev_ingest_key_generated) fmt::print("  ingest key (made up): {}\n", cfg.server.ingest_key);
  if (!kept.empty()) fmt::print("  (the made-up secret and key are {})\n", kept);
  if (token) {
    fmt::print("  sample token for user 1 (24h):\n    {}\n", *token);
    fmt::print("  connect:\n    ws://{}:{}/ws/dashboard/1?token={}\n", host, port, *token);
    fmt::print("  watch it live in a browser:\n    http://{}:{}/#token={}\n", host, port, *token);
  } else {
    fmt::print("  (no sample token: {})\n", token.error().message);
  }
  fmt::print("  post an event:\n    curl -X POST http://{}:{}/api/v1/events -H 'Authorization: Bearer {}' \\\n"
             "      -d '{{\"action\":\"created\",\"userId\":1,\"task\":{{\"id\":1,\"title\":\"Try it\",\"status\":false}}}}'\n",
             host, port, cfg.server.ingest_key.empty() ? "<ingest key>" : cfg.server.ingest_key);
  fmt::print("  health: http://{}:{}/health\n\n", host, port);
}

}  // namespace

int run_server(config cfg) {
  core::logger log(cfg.log_level, cfg.log_format);
  std::string kept;
  try {
    kept = keep_dev_secrets(cfg);
  } catch (const std::exception& e) {
    fmt::print(stderr, "dashboard-hub: --dev: {}\n", e.what());
    return 1;
  }
  core::clock clock;
  // One io_context per thread: a session and its wake-ups stay on one thread. The first also
  // runs the hub, the acceptor and the signals.
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (unsigned i = 0; i < cfg.threads; ++i) loops.push_back(std::make_unique<asio::io_context>(1));
  asio::io_context& ioc = *loops.front();
  std::vector<asio::any_io_executor> connection_executors;
  for (auto& loop : loops) connection_executors.push_back(loop->get_executor());
  auto verifier = protocol::jwt_verifier::create(cfg.jwt);
  if (!verifier) {
    fmt::print(stderr, "dashboard-hub: {}\n", verifier.error());
    return 2;
  }
  // One thread owns the local store: SQLite work is serialised and never runs on a network thread.
  asio::thread_pool store_thread(1);
  std::unique_ptr<core::store> store;
  std::unique_ptr<local_backend> local;
  std::unique_ptr<store::redis_backend> redis;
  if (cfg.redis) {
    store::redis_settings rs;
    rs.endpoint = *cfg.redis;
    rs.sentinels = cfg.redis_sentinels;
    rs.master_name = cfg.redis_master;
    rs.store.min_replicas = cfg.redis_min_replicas;
    rs.store.replica_timeout = cfg.redis_replica_timeout;
    rs.store.prefix = cfg.redis_prefix;
    rs.store.history = cfg.history;
    rs.lease_ttl = cfg.redis_lease_ttl;
    redis = std::make_unique<store::redis_backend>(rs, cfg.server.admission, log);
    if (cfg.redis_sentinels.empty())
      log.info("store and bus in Redis at {} (keys {}*)", cfg.redis->describe(), cfg.redis_prefix);
    else
      log.info("store and bus in Redis: the master {} as Sentinel names it ({} sentinels; keys {}*)", cfg.redis_master,
               cfg.redis_sentinels.size(), cfg.redis_prefix);
  } else {
    try {
      if (cfg.data_dir == ":memory:") {
        store = std::make_unique<core::memory_store>(cfg.history);
      } else {
        auto embedded = store::sqlite_store::open(cfg.data_dir, cfg.history, {.task_cache_rows = cfg.task_cache_rows});
        if (embedded->replayed_at_open() > 0)
          log.info("store: applied {} logged batches that SQLite did not hold yet", embedded->replayed_at_open());
        store = std::move(embedded);
      }
    } catch (const core::store_error& e) {
      fmt::print(stderr, "dashboard-hub: store: {}\n", e.what());
      return 1;
    }
    local = std::make_unique<local_backend>(*store, store_thread.get_executor(), ioc.get_executor(),
                                            cfg.server.admission);
  }
  const backend_parts backend =
      redis ? parts_of(*redis) : local->parts();
  gateway parts(ioc, cfg.server, std::move(*verifier), clock, log, backend, connection_executors);
  if (redis) redis->start_bus();
  auto& srv = parts.server();
  // Taken before the listening line is printed: a supervisor may stop the server as soon as it has
  // seen that line, and a SIGTERM before the set existed would kill it undrained (exit 143).
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::ip::tcp::endpoint endpoint;
  std::optional<asio::ip::tcp::endpoint> internal;
  try {
    endpoint = srv.listen();
  } catch (const boost::system::system_error& e) {
    fmt::print(stderr, "dashboard-hub: cannot listen on {}:{}: {}\n", cfg.server.bind, cfg.server.port,
               e.code().message());
    return 1;
  }
  try {
    internal = srv.listen_internal();
  } catch (const boost::system::system_error& e) {
    fmt::print(stderr, "dashboard-hub: cannot listen on the internal port {}:{}: {}\n", cfg.server.internal_bind,
               cfg.server.internal_port.value_or(0), e.code().message());
    return 1;
  }
  // Machine-readable first line: tests and scripts read the bound port from it (and the internal
  // port from the second, when there is one).
  fmt::print("dashboard-hub listening on {}:{}\n", endpoint.address().to_string(), endpoint.port());
  if (internal)
    fmt::print("dashboard-hub internal port (/metrics, /status) on {}:{}\n", internal->address().to_string(),
               internal->port());
  if (cfg.dev) print_dev_banner(cfg, endpoint.port(), kept);
  std::fflush(stdout);
  log.info("dashboard-hub {} listening on {}:{} with {} threads, JWT {}", dh::version, endpoint.address().to_string(),
           endpoint.port(), cfg.threads, protocol::to_string(cfg.jwt.alg));

  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log.info("signal {}: draining {} sessions", signal, srv.connection_count());
    srv.shut_down();
    asio::co_spawn(ioc, drain(ioc, srv, cfg.drain_timeout, log), asio::detached);
  });

  // The other loops idle until connections arrive; the guards keep them running until the drain.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::jthread> workers;
  for (std::size_t i = 1; i < loops.size(); ++i) {
    guards.push_back(asio::make_work_guard(*loops[i]));
    workers.emplace_back([loop = loops[i].get()] { loop->run(); });
  }
  ioc.run();
  for (std::size_t i = 1; i < loops.size(); ++i) loops[i]->stop();
  for (auto& w : workers) w.join();
  store_thread.join();
  if (redis) redis->stop();  // before the hub it feeds goes
  log.info("stopped");
  return 0;
}

}  // namespace dh::app
