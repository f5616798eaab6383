#include "net/api.hpp"

#include "net/routes.hpp"

#include "protocol/ingest.hpp"
#include "protocol/messages.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/user_id.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>


namespace dh::net {

namespace json = boost::json;

namespace {

constexpr std::size_t default_page = 100;
constexpr std::size_t max_page = 1000;

response json_response(const request& req, http::status status, std::string body) {
  return make_response(status, std::move(body), req.version(), req.keep_alive(), "application/json");
}

response json_error(const request& req, http::status status, std::string_view code, std::string_view message) {
  return json_response(req, status, json::serialize(json::object{{"error", code}, {"message", message}}));
}

// A 503 for a store that cannot be reached now: the client should retry after a short wait.
response unavailable(const request& req, std::string_view message) {
  auto r = json_error(req, http::status::service_unavailable, "STORE_UNAVAILABLE", message);
  r.set(http::field::retry_after, "1");
  return r;
}

// Compares without an early exit, so response timing says nothing about the key.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<std::size_t>(expected.size(), 1)]);
  return diff == 0;
}

asio::awaitable<response> ingest(server_context& ctx, const request& req) {
  if (req.method() != http::verb::post) co_return json_error(req, http::status::method_not_allowed, "METHOD_NOT_ALLOWED", "use POST");
  if (ctx.settings.ingest_key.empty())
    co_return json_error(req, http::status::service_unavailable, "INGEST_DISABLED", "start the server with --ingest-key");
  std::string_view key = authorization_bearer(req);
  if (key.empty()) key = req["dapr-api-token"];  // a Dapr sidecar configured with APP_API_TOKEN
  if (!same_secret(key, ctx.settings.ingest_key))
    co_return json_error(req, http::status::unauthorized, "UNAUTHORIZED", "missing or wrong ingest key");

  auto parsed = protocol::parse_ingest(req.body(), ctx.clock.wall_now());
  if (!parsed) {
    json::array fields;
    for (const auto& e : parsed.error()) fields.push_back(json::object{{"field", e.field}, {"message", e.message}});
    co_return json_response(req, http::status::bad_request,
                            json::serialize(json::object{{"error", "INVALID_EVENTS"}, {"fields", std::move(fields)}}));
  }
  const auto count = parsed->size();
  std::shared_ptr<const core::apply_result> result;
  try {
    // Stored together with whatever other batches are waiting; published to the hub after the
    // commit, before this reply.
    const auto started = ctx.clock.steady_now();
    result = co_await ctx.events.apply(std::move(*parsed), ctx.clock.wall_now());
    ctx.metrics.store_commit_time.observe(ctx.clock.steady_now() - started);
  } catch (const core::store_unavailable& e) {
    ctx.log.warn("ingest of {} events refused: {}", count, e.what());
    co_return unavailable(req, "the store is unreachable; the batch was not stored (or, if the connection broke mid-write, may have been): retry");
  } catch (const core::store_error& e) {
    ctx.log.error("ingest of {} events failed: {}", count, e.what());
    co_return unavailable(req, "the batch was not stored");
  }

  json::array out;
  std::size_t applied = 0;
  for (const auto& e : result->events) {
    json::object ids;
    for (const auto& seen : e.audience) ids[seen.user] = std::to_string(seen.event_id);
    applied += e.applied ? 1 : 0;
    (e.applied ? ctx.metrics.events_applied : ctx.metrics.events_ignored).add();
    out.push_back(json::object{{"taskId", e.task_id}, {"applied", e.applied}, {"eventIds", std::move(ids)}});
  }
  co_return json_response(
      req, http::status::accepted,
      json::serialize(json::object{{"accepted", result->events.size()}, {"applied", applied}, {"events", std::move(out)}}));
}

// The user's JWT must name the user of the path, as on the WebSocket.
std::optional<response> check_user_token(server_context& ctx, const request& req, const std::string& user) {
  auto verified = ctx.jwt.verify(authorization_bearer(req), ctx.clock.wall_now());
  if (!verified) {
    const auto& info = protocol::info(verified.error().code);
    return json_error(req, http::status::unauthorized, info.code, verified.error().message);
  }
  if (verified->subject != user)
    return json_error(req, http::status::forbidden, "AUTH_INVALID", "token subject does not match the user");
  return std::nullopt;
}

asio::awaitable<response> dashboard(server_context& ctx, const request& req, std::string user) {
  if (auto denied = check_user_token(ctx, req, user)) co_return std::move(*denied);
  const auto stats = co_await ctx.events.stats(user);
  const auto updated = core::last_updated(stats, ctx.clock.wall_now());
  co_return json_response(req, http::status::ok,
                          json::serialize(json::object{{"userId", protocol::user_id_to_json(user)},
                                                       {"totalTasks", stats.total},
                                                       {"completedTasks", stats.completed},
                                                       {"pendingTasks", stats.total - stats.completed},
                                                       {"updatedAt", protocol::format_timestamp(updated)},
                                                       {"lastEventId", std::to_string(stats.last_event_id)}}));
}

asio::awaitable<response> events(server_context& ctx, const request& req, std::string user, const boost::urls::url_view& url) {
  if (auto denied = check_user_token(ctx, req, user)) co_return std::move(*denied);
  std::uint64_t since = 0;
  std::size_t limit = default_page;
  for (const auto& p : url.params()) {
    if (p.key == "since") {
      auto n = protocol::parse_event_id(p.value);
      if (!n) co_return json_error(req, http::status::bad_request, "INVALID_REQUEST", "since must be an event id");
      since = *n;
    } else if (p.key == "limit") {
      auto n = protocol::parse_event_id(p.value);
      if (!n || *n == 0 || *n > max_page)
        co_return json_error(req, http::status::bad_request, "INVALID_REQUEST", fmt::format("limit must be 1..{}", max_page));
      limit = static_cast<std::size_t>(*n);
    }
  }
  const auto now = ctx.clock.wall_now();
  const auto page = co_await ctx.events.history(user, since, limit, now);
  // Payloads are stored serialised; splice them rather than parse them again.
  std::string body = R"({"events":[)";
  for (std::size_t i = 0; i < page.entries.size(); ++i) {
    if (i != 0) body += ',';
    fmt::format_to(std::back_inserter(body), R"({{"id":"{}","type":"task_update","payload":{}}})",
                   page.entries[i].event_id, page.entries[i].payload);
  }
  fmt::format_to(std::back_inserter(body), R"(],"complete":{},"lastEventId":"{}"}})", page.complete, page.last_event_id);
  co_return json_response(req, http::status::ok, std::move(body));
}

response dapr_subscriptions(const server_context& ctx, const request& req) {
  return json_response(req, http::status::ok,
                       json::serialize(json::array{json::object{{"pubsubname", ctx.settings.dapr_pubsub},
                                                                {"topic", ctx.settings.dapr_topic},
                                                                {"route", "/api/v1/events"}}}));
}

}  // namespace

bool is_ingest_target(std::string_view target) {
  return target == "/api/v1/events" || target.starts_with("/api/v1/events?");
}

bool is_api_target(std::string_view target) {
  return target.starts_with("/api/") || target.starts_with("/dapr/");
}

asio::awaitable<response> handle_api_request(server_context& ctx, const request& req) {
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url) co_return json_error(req, http::status::bad_request, "INVALID_REQUEST", "bad request target");
  const std::string_view path = url->encoded_path();
  if (path == "/api/v1/events") {
    auto res = co_await ingest(ctx, req);
    ctx.metrics.ingest_answered(res.result_int());
    co_return res;
  }
  if (path == "/dapr/subscribe" && req.method() == http::verb::get) co_return dapr_subscriptions(ctx, req);

  const auto segments = url->segments();
  if (segments.size() == 5 && path.starts_with("/api/v1/users/") && req.method() == http::verb::get) {
    auto it = segments.begin();
    std::advance(it, 3);
    std::string user = *it++;
    const std::string what = *it;
    if (!protocol::is_valid_user_id(user))
      co_return json_error(req, http::status::not_found, "USER_NOT_FOUND", "not a valid user id");
    try {
      if (what == "dashboard") co_return co_await dashboard(ctx, req, std::move(user));
      if (what == "events") co_return co_await events(ctx, req, std::move(user), *url);
    } catch (const core::store_error& e) {
      ctx.log.error("store failed serving {}: {}", path, e.what());
      co_return unavailable(req, "try again");
    }
  }
  co_return json_error(req, http::status::not_found, "NOT_FOUND", "no such route");
}

}  // namespace dh::net
