// gateway.hpp — the gateway's parts wired together, the one place that decides which backend
// serves which core interface (event store, bus, admission) and hands them to the hub and server.
#pragma once

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/hub.hpp"
#include "core/local_event_store.hpp"
#include "core/local_admission.hpp"
#include "core/logger.hpp"
#include "core/store.hpp"
#include "net/server.hpp"
#include "protocol/jwt.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <vector>

namespace dh::app {

class gateway {
 public:
  // The hub and admission run on `ioc`; `store`'s calls and the bus's publishes on
  // `store_executor`, one thread; connections on `connection_executors` (see net::server).
  gateway(boost::asio::io_context& ioc, net::server_settings settings, protocol::jwt_verifier jwt,
          const core::clock& clock, const core::logger& log, core::store& store,
          boost::asio::any_io_executor store_executor,
          std::vector<boost::asio::any_io_executor> connection_executors = {});
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  net::server& server() noexcept { return server_; }

 private:
  core::local_bus bus_;
  core::local_event_store events_;
  core::local_admission admission_;
  core::hub hub_;
  net::server server_;
};

}  // namespace dh::app
