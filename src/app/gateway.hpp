// gateway.hpp — the gateway's parts wired together: a backend (one process, or Redis) provides
// the event store, the bus and admission; the gateway hands them to the hub and the server.
#pragma once

#include "core/admission.hpp"
#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/event_store.hpp"
#include "core/hub.hpp"
#include "core/local_admission.hpp"
#include "core/local_event_store.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "core/store.hpp"
#include "net/server.hpp"
#include "protocol/jwt.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <vector>

namespace dh::store {
class redis_backend;
}

namespace dh::app {

// What a backend lends the gateway; it outlives the gateway.
struct backend_parts {
  core::event_store& events;
  core::bus& bus;
  core::admission& admission;
  // Admission and history wait on another process (Redis), up to its reply timeout.
  bool remote = false;
};

// One process: `store` (SQLite or memory) on `store_executor`, one thread, whose committed
// batches go straight to the hub; slots counted in memory on `executor`.
// Redis mode's parts: remote, so the gateway sends a 101 before admission waits on Redis.
backend_parts parts_of(store::redis_backend& redis) noexcept;

class local_backend {
 public:
  local_backend(core::store& store, boost::asio::any_io_executor store_executor, boost::asio::any_io_executor executor,
                core::admission_settings admission);
  local_backend(const local_backend&) = delete;
  local_backend& operator=(const local_backend&) = delete;

  backend_parts parts() noexcept { return {events_, bus_, admission_}; }

 private:
  core::local_bus bus_;
  core::local_event_store events_;
  core::local_admission admission_;
};

class gateway {
 public:
  // The hub runs on `ioc`; connections on `connection_executors` (see net::server). The hub is
  // subscribed to the backend's bus here, so a backend starts reading its bus after this.
  // `hub_clock`, when given, is the hub's alone (a test that moves the debounce's time by hand).
  gateway(boost::asio::io_context& ioc, net::server_settings settings, protocol::jwt_verifier jwt,
          const core::clock& clock, const core::logger& log, backend_parts backend,
          std::vector<boost::asio::any_io_executor> connection_executors = {},
          const core::clock* hub_clock = nullptr);
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  net::server& server() noexcept { return server_; }
  const core::metrics& metrics() const noexcept { return metrics_; }

 private:
  core::event_store& events_;
  core::admission& admission_;
  core::metrics metrics_;
  core::hub hub_;
  net::server server_;
};

}  // namespace dh::app
