#include "net/session_handshake.hpp"

#include "protocol/messages.hpp"
#include "protocol/user_id.hpp"

#include <fmt/format.h>

namespace dh::net {

using protocol::errc;
using protocol::failure;

std::optional<response> refuse_early(server_context& ctx, const request& req, std::string_view remote) {
  if (!origin_allowed(req, ctx.settings)) {
    ctx.log.info("session request refused from {}: origin not allowed", remote);
    return make_response(http::status::forbidden, "origin not allowed\n", req.version(), false);
  }
  // At capacity a new session is refused before any work: the ones held stay healthy. Checked,
  // not reserved: concurrent requests on other threads may pass it by one each.
  if (ctx.open_sessions->load(std::memory_order_relaxed) >= ctx.settings.max_connections) {
    ctx.metrics.upgrades_refused_full.add();
    ctx.log.debug("session request from {} refused: {} sessions held (--max-connections)", remote,
                  ctx.settings.max_connections);
    auto busy = make_response(http::status::service_unavailable,
                              "the server holds its maximum of connections; retry shortly\n", req.version(), false);
    busy.set(http::field::retry_after, "5");
    return busy;
  }
  return std::nullopt;
}

boost::system::result<core::session_identity, failure> identify(const server_context& ctx, const request& req,
                                                                const session_target& target, std::uint64_t hub_id) {
  if (!protocol::is_valid_user_id(target.user_id))
    return failure{errc::user_not_found, "userId must match [A-Za-z0-9._-]{1,64}", {}};
  const auto token = bearer_token(req, target);
  if (token.empty()) return failure{errc::auth_invalid, "missing token", {}};
  auto verified = ctx.jwt.verify(token, ctx.clock.wall_now());
  if (!verified) return verified.error();
  if (verified->subject != target.user_id)
    return failure{errc::auth_invalid, "token subject does not match the userId in the path", {}};
  core::session_identity who;
  if (target.last_event_id) {
    who.resume_from = protocol::parse_event_id(*target.last_event_id);
    if (!who.resume_from) return failure{errc::invalid_message, "lastEventId must be a string of decimal digits", {}};
  }
  who.user_id = target.user_id;
  who.hub_id = hub_id;
  who.session_id = fmt::format("{:016x}", ctx.hub.instance_nonce() ^ hub_id);
  who.token_expires_at = verified->expires_at;
  return who;
}

asio::awaitable<admission_outcome> admit(server_context& ctx, const core::session_identity& who,
                                         std::shared_ptr<core::outbox> out) {
  bool admitted = false;
  try {
    admitted = co_await ctx.admission.acquire(who.user_id, who.hub_id);
  } catch (const core::store_error& e) {
    // Redis mode with Redis unreachable: no slot can be taken, so no session is opened; the
    // client's reconnect with backoff finds it back.
    ctx.log.warn("connection slots unavailable for user={}: {}", who.user_id, e.what());
    co_return admission_outcome::store_unavailable;
  }
  if (!admitted) co_return admission_outcome::at_limit;
  if (co_await ctx.hub.join(who.user_id, who.hub_id, std::move(out)) == core::hub::join_result::shutting_down) {
    ctx.admission.release(who.user_id, who.hub_id);
    co_return admission_outcome::shutting_down;
  }
  co_return admission_outcome::admitted;
}

failure refusal_of(const server_context& ctx, admission_outcome outcome) {
  if (outcome == admission_outcome::at_limit)
    return {errc::connection_limit, fmt::format("user already has {} connections", ctx.settings.admission.max_per_user), {}};
  if (outcome == admission_outcome::store_unavailable)
    return {errc::internal_error, "the cluster store is unreachable; reconnect shortly", {}};
  return {errc::internal_error, "the server is shutting down", {}};
}

asio::awaitable<bool> history_covers(server_context& ctx, std::string user, std::uint64_t after) {
  try {
    auto page = co_await ctx.events.history(user, after, 0, ctx.clock.wall_now());
    co_return page.complete;
  } catch (const core::store_error& e) {
    ctx.log.error("store failed checking history for user={}: {}", user, e.what());
    co_return false;
  }
}

core::session_settings session_settings_of(const server_settings& settings) {
  return {settings.liveness, settings.rate_limit, settings.close_grace};
}

void log_session_end(const server_context& ctx, const core::session_core& core, std::string_view remote,
                     core::steady_time connected_at) {
  const auto end = core.summary();
  ctx.metrics.closed(end.code);
  ctx.metrics.sessions_ended[static_cast<std::size_t>(core.kind())].add();
  const auto lived = std::chrono::duration<double>(ctx.clock.steady_now() - connected_at).count();
  // A server close is logged with its reason even when a peer that stopped reading never got the
  // frame (the handshake then never completes).
  ctx.log.info("session {} user={} closed code={}{}{} by={} from={} duration={:.3f}s messages_in={} messages_out={} transport={}",
               core.who().session_id, core.who().user_id, end.code,
               end.by_server ? fmt::format(" reason={}", end.reason) : std::string(),
               end.by_server && !end.close_completed && core.kind() == core::transport::websocket
                   ? " (close handshake not completed)"
                   : "",
               end.by_server ? "server" : "client", remote, lived, end.messages_in, end.messages_out,
               core::transport_name(core.kind()));
}

}  // namespace dh::net
