#include "net/ops_routes.hpp"

#include "net/metrics_text.hpp"
#include "net/routes.hpp"

#include "dh/version.hpp"

#include <boost/json/serialize.hpp>

namespace dh::net {

namespace {

namespace json = boost::json;

// Below this many users a reading of the hub costs microseconds and /status is always current.
constexpr std::size_t cached_above_users = 1000;

// The busiest users, read from the hub at most once a second once there are many: /status needs
// no credentials, and each reading walks every user on the hub's strand, which fan-out shares.
asio::awaitable<std::vector<std::pair<std::string, std::size_t>>> busiest_users(server_context& ctx) {
  if (ctx.hub.user_count() <= cached_above_users) co_return co_await ctx.hub.busiest_users(status_top_users);
  const auto now = ctx.clock.steady_now();
  {
    std::lock_guard lock(ctx.status_cache.mutex);
    if (ctx.status_cache.read_at && now - *ctx.status_cache.read_at < std::chrono::seconds(1))
      co_return ctx.status_cache.busiest;
  }
  auto busiest = co_await ctx.hub.busiest_users(status_top_users);
  std::lock_guard lock(ctx.status_cache.mutex);
  ctx.status_cache.read_at = now;
  ctx.status_cache.busiest = busiest;
  co_return busiest;
}

asio::awaitable<response> status(server_context& ctx, const request& req) {
  const auto busiest = co_await busiest_users(ctx);
  json::object per_user;
  for (const auto& [user, n] : busiest) per_user[user] = n;
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(ctx.clock.steady_now() - ctx.started);
  const bool draining = ctx.draining.load();
  // Sessions open by transport: opened less ended (those still closing count until their end).
  json::object by_transport;
  for (std::size_t t = 0; t < core::transport_names.size(); ++t) {
    const auto ended = ctx.metrics.sessions_ended[t].value();  // first: a session opens before it ends
    by_transport[core::transport_names[t]] = ctx.metrics.sessions_opened[t].value() - ended;
  }
  const auto store = ctx.events.report();
  json::object store_doc{{"backend", store.backend}, {"durability", store.durability}};
  if (store.epoch != 0) {
    store_doc["epoch"] = store.epoch;
    store_doc["epoch_base"] = store.epoch_base;
  }
  json::object doc{{"service", "dashboard-hub"},
                   {"version", dh::version},
                   {"status", draining ? "draining" : "running"},
                   {"uptime_seconds", uptime.count()},
                   {"connections", ctx.hub.connection_count()},
                   {"sessions_by_transport", std::move(by_transport)},
                   {"active_users", ctx.hub.user_count()},
                   {"connections_per_user", std::move(per_user)},
                   // connections_per_user lists the busiest users only; these say how many it left out.
                   {"connections_per_user_shown", busiest.size()},
                   {"connections_per_user_total", ctx.hub.user_count()},
                   // What a 202 guarantees, read from the store's own settings (Redis: at every connect).
                   {"store", std::move(store_doc)}};
  co_return make_response(http::status::ok, json::serialize(doc), req.version(), req.keep_alive(), "application/json");
}

}  // namespace

bool is_ops_target(std::string_view path) { return path == "/status" || path == "/metrics"; }

asio::awaitable<response> handle_ops_request(server_context& ctx, const request& req, std::string_view path) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = make_response(http::status::method_not_allowed, "method not allowed\n", req.version(), req.keep_alive());
    res.set(http::field::allow, "GET, HEAD");
    co_return res;
  }
  if (path == "/status") co_return co_await status(ctx, req);
  const auto text = render_metrics(ctx.metrics, {ctx.hub.connection_count(), ctx.hub.user_count()});
  co_return make_response(http::status::ok, text, req.version(), req.keep_alive(), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace dh::net
