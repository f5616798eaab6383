#include "app/gateway.hpp"

namespace dh::app {

gateway::gateway(boost::asio::io_context& ioc, net::server_settings settings, protocol::jwt_verifier jwt,
                 const core::clock& clock, const core::logger& log, core::store& store,
                 boost::asio::any_io_executor store_executor,
                 std::vector<boost::asio::any_io_executor> connection_executors)
    : events_(store, std::move(store_executor), bus_),
      admission_(ioc.get_executor(), settings.admission),
      hub_(ioc.get_executor(), settings.hub, clock, events_, log),
      server_(ioc, std::move(settings), std::move(jwt), clock, log, hub_, admission_, events_,
              std::move(connection_executors)) {
  bus_.subscribe([this](core::bus::batch committed) { hub_.publish(std::move(committed)); });
}

}  // namespace dh::app
