#include "app/gateway.hpp"

#include "protocol/messages.hpp"
#include "store/redis_backend.hpp"

#include <fmt/format.h>

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

// A session's last words before the server ends it so that its client resumes.
core::frame reconnect_frame(std::string_view why, const core::clock& clock) {
  return core::make_frame(protocol::encode_connection_status(protocol::connection_state::reconnecting,
                                                             fmt::format("{}; reconnect and resume", why),
                                                             clock.wall_now()));
}

constexpr std::uint16_t service_restart = 1012;  // RFC 6455's registry: "try again later"

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
  // Close 1012: clients reconnect and resume, learn recovered:false from a store that no longer
  // covers their id, or get from history what was routed elsewhere, rather than miss it.
  events_.on_history_lost([this, &clock] {
    hub_.restart_sessions(reconnect_frame("the store lost updates it had acknowledged", clock), service_restart,
                          "store lost updates");
  });
  admission_.on_lapsed([this, &clock](const std::string& user, std::uint64_t session) {
    hub_.restart_session(user, session,
                         reconnect_frame("this connection's slot lapsed and updates may have gone elsewhere", clock),
                         service_restart, "lease lapsed");
  });
}

gateway::~gateway() {
  events_.on_history_lost({});
  admission_.on_lapsed({});
}

}  // namespace dh::app
