// messages.hpp — the WebSocket contract's envelopes (SPEC §1): strict decoding of every client
// message and encoding of every server message. Pure functions of text and JSON; no sockets.
#pragma once

#include "protocol/errors.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dh::protocol {

using time_point = std::chrono::system_clock::time_point;

struct subscribe_dashboard {
  std::string user_id;  // canonical text of the payload's userId
  bool batch = false;
  std::optional<std::uint64_t> last_event_id;
};
struct unsubscribe_dashboard {
  std::string user_id;
};
struct ping {
  boost::json::object payload;  // echoed unchanged in the pong
};
struct ack {
  std::vector<std::uint64_t> ids;
};
struct refresh_token {
  std::string token;
};

using client_message = std::variant<subscribe_dashboard, unsubscribe_dashboard, ping, ack, refresh_token>;

// An event id as it travels in text ("42"): decimal digits only, or nullopt.
std::optional<std::uint64_t> parse_event_id(std::string_view text) noexcept;

// Decodes one text frame. Every rejection is INVALID_MESSAGE with a message naming the fault.
boost::system::result<client_message, failure> decode_client_message(std::string_view text);

// The name a client message has on the wire ("subscribe_dashboard", ...).
std::string_view type_name(const client_message& m) noexcept;

struct dashboard_stats {
  std::int64_t total_tasks = 0;
  std::int64_t completed_tasks = 0;
  time_point updated_at{};
};

// Server → client. Each returns the complete serialised envelope.
std::string encode_envelope(std::string_view type, boost::json::object payload, time_point now,
                            std::string_view id = {});
std::string encode_connection_success(std::string_view user_id, std::string_view session_id,
                                      std::int64_t heartbeat_sec, bool recovered, time_point now);
std::string encode_error(const failure& f, time_point now,
                         std::optional<std::chrono::milliseconds> retry_after = std::nullopt);
std::string encode_pong(const boost::json::object& ping_payload, time_point now);
std::string encode_subscribed(std::string_view user_id, time_point now);
std::string encode_unsubscribed(std::string_view user_id, time_point now);
std::string encode_dashboard_update(const dashboard_stats& stats, time_point now);

// task_update around an already-serialised payload (protocol/task_event.hpp); `id` is the
// user's event id, written as a string of digits.
std::string encode_task_update(std::string_view payload_json, std::uint64_t event_id, time_point now);
// task_batch: {updates: [payload + id, ...]}; each item is (payload_json, event_id).
std::string encode_task_batch(std::span<const std::pair<std::string_view, std::uint64_t>> updates, time_point now);

enum class connection_state { connected, reconnecting, disconnected };
std::string encode_connection_status(connection_state state, std::string_view message, time_point now);

}  // namespace dh::protocol
