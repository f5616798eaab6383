#include "app/gateway.hpp"

#include "protocol/messages.hpp"
#include "store/redis_backend.hpp"

namespace dh::app {

backend_parts parts_of(store::redis_backend& redis) noexcept {
  return {redis.events(), redis.bus(), redis.admission(), true};
}

local_backend::local_backend(core::store& store, boost::asio::any_io_executor store_executor,
                             boost::asio::any_io_executor executor, core::admission_settings admission)
    : events_(store, std::move(store_executor), bus_), admission_(std::move(executor), admission) {}

namespace {

// A 101 held for connection_success would wait on a remote backend's replies too: there it goes
// out at once, so a client's handshake timeout never meets Redis's.
net::server_settings fitted_to(net::server_settings settings, const backend_parts& backend) {
  settings.upgrade_with_first_frame = !backend.remote;
  return settings;
}

}  // namespace

gateway::gateway(boost::asio::io_context& ioc, net::server_settings settings, protocol::jwt_verifier jwt,
                 const core::clock& clock, const core::logger& log, backend_parts backend,
                 std::vector<boost::asio::any_io_executor> connection_executors, const core::clock* hub_clock)
    : events_(backend.events),
      admission_(backend.admission),
      hub_(ioc.get_executor(), settings.hub, hub_clock != nullptr ? *hub_clock : clock, backend.events, log, metrics_),
      server_(ioc, fitted_to(std::move(settings), backend), std::move(jwt), clock, log, hub_, backend.admission, backend.events, metrics_,
              std::move(connection_executors)) {
  backend.bus.subscribe([this](core::bus::batch committed) { hub_.publish(std::move(committed)); },
                        [this](bool up) { hub_.bus_link(up); });
  // 1012 (service restart): clients reconnect, resume from an id the store no longer covers and
  // learn recovered:false, rather than keep updates that are gone.
  events_.on_history_lost([this, &clock] {
    hub_.restart_sessions(core::make_frame(protocol::encode_connection_status(
                              protocol::connection_state::reconnecting,
                              "the store lost updates it had acknowledged; reconnect and resume", clock.wall_now())),
                          1012, "store lost updates");
  });
  admission_.on_lapsed([this, &clock](const std::string& user, std::uint64_t session) {
    hub_.restart_session(user, session,
                         core::make_frame(protocol::encode_connection_status(
                             protocol::connection_state::reconnecting,
                             "this connection's slot lapsed and updates may have gone elsewhere; reconnect and resume",
                             clock.wall_now())),
                         1012, "lease lapsed");
  });
}

gateway::~gateway() {
  events_.on_history_lost({});
  admission_.on_lapsed({});
}

}  // namespace dh::app
