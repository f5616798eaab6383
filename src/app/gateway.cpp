#include "app/gateway.hpp"

namespace dh::app {

gateway::gateway(boost::asio::io_context& ioc, net::server_settings settings, protocol::jwt_verifier jwt,
                 const core::clock& clock, const core::logger& log, core::store& store,
                 boost::asio::any_io_executor store_executor,
                 std::vector<boost::asio::any_io_executor> connection_executors)
    : admission_(ioc.get_executor(), settings.admission),
      hub_(ioc.get_executor(), settings.hub, clock, store, store_executor, log),
      // Durable first, then fan-out: each committed group goes to the bus from the store thread.
      ingest_(store, store_executor, [this](core::bus::batch committed) { bus_.publish(std::move(committed)); }),
      server_(ioc, std::move(settings), std::move(jwt), clock, log, hub_, admission_, ingest_, store, std::move(store_executor),
              std::move(connection_executors)) {
  bus_.subscribe([this](core::bus::batch committed) { hub_.publish(std::move(committed)); });
}

}  // namespace dh::app
