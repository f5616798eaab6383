#include "app/gateway.hpp"

namespace dh::app {

local_backend::local_backend(core::store& store, boost::asio::any_io_executor store_executor,
                             boost::asio::any_io_executor executor, core::admission_settings admission)
    : events_(store, std::move(store_executor), bus_), admission_(std::move(executor), admission) {}

gateway::gateway(boost::asio::io_context& ioc, net::server_settings settings, protocol::jwt_verifier jwt,
                 const core::clock& clock, const core::logger& log, backend_parts backend,
                 std::vector<boost::asio::any_io_executor> connection_executors, const core::clock* hub_clock)
    : hub_(ioc.get_executor(), settings.hub, hub_clock != nullptr ? *hub_clock : clock, backend.events, log, metrics_),
      server_(ioc, std::move(settings), std::move(jwt), clock, log, hub_, backend.admission, backend.events, metrics_,
              std::move(connection_executors)) {
  backend.bus.subscribe([this](core::bus::batch committed) { hub_.publish(std::move(committed)); },
                        [this](bool up) { hub_.bus_link(up); });
}

}  // namespace dh::app
