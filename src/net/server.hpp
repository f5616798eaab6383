// server.hpp — the listening socket and everything a connection needs to be served: settings,
// the JWT verifier, the hub, admission, the event store, the clock and the logger, all built by
// the app and lent here. Listens and routes; shut_down() drains sessions with close 1001.
#pragma once

#include "core/clock.hpp"
#include "core/address_limiter.hpp"
#include "core/admission.hpp"
#include "core/hub.hpp"
#include "core/event_store.hpp"
#include "core/liveness.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "core/rate_limiter.hpp"
#include "net/forwarded.hpp"
#include "protocol/jwt.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dh::net {

struct server_settings {
  std::string bind = "0.0.0.0";
  std::uint16_t port = 8000;
  bool reuse_port = false;  // SO_REUSEPORT: other instances may listen on the same port
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_connections = 100'000;  // WebSocket sessions; further upgrades get 503 + Retry-After
  core::address_limit_settings address_limit;  // new connections per client address; beyond: 429
  std::vector<std::string> allowed_origins;  // empty: any Origin; "*" too. Serialised by the server
  std::vector<address_range> trusted_proxies;  // peers whose X-Forwarded-For names the client
  std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds(10);
  // The 101 goes out with connection_success (or the refusal) in one send. The gateway turns it
  // off when admission and history wait on a remote backend.
  bool upgrade_with_first_frame = true;
  std::chrono::steady_clock::duration close_grace = std::chrono::seconds(5);
  // A session whose outbound queue holds more than either is cut as SLOW_CONSUMER (SPEC §2).
  std::size_t outbox_capacity = 1024;           // frames
  std::size_t outbox_max_bytes = 4 * 1024 * 1024;  // bytes
  core::liveness_settings liveness;
  core::rate_limit_settings rate_limit;
  core::hub_settings hub;
  core::admission_settings admission;
  std::string ingest_key;  // empty: ingest is disabled (503)
  std::size_t max_ingest_bytes = 1024 * 1024;
  std::string dapr_pubsub = "taskpubsub";
  std::string dapr_topic = "task-updates";
  // Set: /metrics and /status are served on this port alone (0 picks a free one), bound to
  // internal_bind, and the public port keeps only /health and /ready of the operational routes.
  std::optional<std::uint16_t> internal_port;
  std::string internal_bind = "127.0.0.1";
};

// Which listener a connection came in on: the public one serves the contract; the internal one
// only the operator's routes (/metrics, /status, /health, /ready).
enum class listener { public_port, internal_port };

// Shared, read-mostly state every session sees. Counters are atomics.
struct server_context {
  server_settings settings;
  protocol::jwt_verifier jwt;
  const core::clock& clock;
  const core::logger& log;
  core::hub& hub;
  core::admission& admission;  // the user's connection slots
  core::event_store& events;   // ingest, statistics and history; never blocks a network thread
  core::metrics& metrics;
  core::steady_time started;   // for /status's uptime
  struct {
    std::mutex mutex;
    std::optional<core::steady_time> read_at;
    std::vector<std::pair<std::string, std::size_t>> busiest;
  } status_cache{};  // /status's busiest users, read from the hub at most once a second
  core::address_limiter connection_rate{settings.address_limit};
  std::atomic<bool> draining{false};
  // WebSocket sessions whose socket is still open, from the upgrade on. The hub's count drops as
  // soon as a session starts to close (its slot is free again); this one when the socket is gone,
  // which is what a drain awaits.
  std::shared_ptr<std::atomic<std::size_t>> open_sessions = std::make_shared<std::atomic<std::size_t>>(0);
};

// The completion of a connection's top-level coroutine: an exception that escaped it is a bug
// of ours, logged as INTERNAL_ERROR; the connection itself is already gone with its coroutine.
inline auto report_failure(const server_context& ctx) {
  return [&ctx](std::exception_ptr e) {
    if (e) ctx.log.error("INTERNAL_ERROR in connection: {}", core::describe(e));
  };
}

class server {
 public:
  // The hub and the acceptor run on `ioc`; connections on `connection_executors` in turn, each of
  // which must be run by one thread (one io_context per thread keeps a session's wake-ups on its
  // own thread). None given: connections run on `ioc`, which may have many threads, one strand each.
  server(boost::asio::io_context& ioc, server_settings settings, protocol::jwt_verifier jwt, const core::clock& clock,
         const core::logger& log, core::hub& hub, core::admission& admission, core::event_store& events,
         core::metrics& metrics, std::vector<boost::asio::any_io_executor> connection_executors = {});

  // Binds and starts accepting; returns the bound endpoint (port 0 picks a free one).
  boost::asio::ip::tcp::endpoint listen();
  // Binds the internal port when the settings name one; nullopt otherwise.
  std::optional<boost::asio::ip::tcp::endpoint> listen_internal();
  // Serves a stream that is already connected, as if it had been accepted: the fuzz targets feed
  // a connection's bytes through a socket pair this way, with no listener and no network.
  void serve(boost::asio::ip::tcp::socket socket);
  // Stops accepting and asks every session to close with 1001. Safe to call twice.
  void shut_down();
  // WebSocket sessions not yet finished, closing ones included.
  std::size_t connection_count() const noexcept { return context_.open_sessions->load(std::memory_order_relaxed); }

 private:
  boost::asio::ip::tcp::endpoint start_listening(boost::asio::ip::tcp::acceptor& acceptor,
                                                 const boost::asio::ip::tcp::endpoint& endpoint, bool reuse_port,
                                                 listener port);

  core::hub& hub_;
  server_context context_;
  std::vector<boost::asio::any_io_executor> connection_executors_;
  bool use_strands_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::acceptor internal_acceptor_;
};

}  // namespace dh::net
