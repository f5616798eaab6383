// session_handshake.hpp — what both transports check before a session opens, and how they log
// its end: origin and capacity (plain HTTP refusals), the token, admission, the history check.
#pragma once

#include "core/session_core.hpp"
#include "net/net.hpp"
#include "net/routes.hpp"
#include "net/server.hpp"

#include <boost/system/result.hpp>

#include <optional>
#include <string>

namespace dh::net {

// The refusal of a session request before any work is done for it: an Origin not allowed (403)
// or the instance at --max-connections (503 + Retry-After). nullopt: go on.
std::optional<response> refuse_early(server_context& ctx, const request& req, std::string_view remote);

// Who the request is for, from its token (query or Bearer) and its lastEventId; AUTH_INVALID,
// AUTH_EXPIRED, USER_NOT_FOUND or INVALID_MESSAGE otherwise. `hub_id` names the new session.
boost::system::result<core::session_identity, protocol::failure> identify(const server_context& ctx, const request& req,
                                                                          const session_target& target,
                                                                          std::uint64_t hub_id);

// Takes one of the user's slots (cluster-wide in Redis mode) and joins the hub with `out`.
enum class admission_outcome { admitted, at_limit, store_unavailable, shutting_down };
asio::awaitable<admission_outcome> admit(server_context& ctx, const core::session_identity& who,
                                         std::shared_ptr<core::outbox> out);
// The error a refused admission answers with (none for shutting_down: a drain closes 1001).
protocol::failure refusal_of(const server_context& ctx, admission_outcome outcome);

// Whether history still holds every event after the session's resume point (connection_success.recovered).
asio::awaitable<bool> history_covers(server_context& ctx, std::string user, std::uint64_t after);

core::session_settings session_settings_of(const server_settings& settings);

// The access log's line and the closes metric for a session that has ended.
void log_session_end(const server_context& ctx, const core::session_core& core, std::string_view remote,
                     core::steady_time connected_at);

// Counts a session's socket from the request on; a drain waits for the count to reach zero.
// The counter is shared, so a session destroyed with the io_context after the server is gone
// touches nothing freed.
class open_session_count {
 public:
  explicit open_session_count(std::shared_ptr<std::atomic<std::size_t>> n) : count_(std::move(n)) { count_->fetch_add(1); }
  ~open_session_count() {
    if (count_) count_->fetch_sub(1);
  }
  open_session_count(open_session_count&& other) noexcept = default;  // the moved-from counts nothing
  open_session_count& operator=(open_session_count&&) = delete;

 private:
  std::shared_ptr<std::atomic<std::size_t>> count_;
};

}  // namespace dh::net
