#include "protocol/messages.hpp"

#include "protocol/strict_json.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/user_id.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <charconv>

namespace dh::protocol {
namespace json = boost::json;

namespace {

constexpr std::size_t max_ack_ids = 1000;
constexpr std::size_t max_token_bytes = 8192;

failure invalid(std::string message, std::string_view type = {}) {
  return failure{errc::invalid_message, std::move(message), std::string(type)};
}

// Event ids travel as strings of decimal digits ("42"); integers are accepted too.
std::optional<std::uint64_t> event_id_from_json(const json::value& v) {
  if (const auto* i = v.if_int64()) return *i >= 0 ? std::optional<std::uint64_t>(*i) : std::nullopt;
  if (const auto* u = v.if_uint64()) return *u;
  if (const auto* s = v.if_string()) return parse_event_id(*s);
  return std::nullopt;
}

using decode_result = boost::system::result<client_message, failure>;

decode_result require_user_id(const json::object& payload, std::string_view type, std::string& out) {
  const auto* v = payload.if_contains("userId");
  if (v == nullptr) return invalid("payload.userId is required", type);
  auto id = user_id_from_json(*v);
  if (!id) return invalid("payload.userId must be a string or a non-negative integer", type);
  out = std::move(*id);
  return client_message{};
}

decode_result decode_subscribe(const json::object& payload) {
  constexpr std::string_view type = "subscribe_dashboard";
  subscribe_dashboard m;
  if (auto r = require_user_id(payload, type, m.user_id); !r) return r;
  if (const auto* b = payload.if_contains("batch")) {
    if (!b->is_bool()) return invalid("payload.batch must be a boolean", type);
    m.batch = b->get_bool();
  }
  if (const auto* last = payload.if_contains("lastEventId"); last != nullptr && !last->is_null()) {
    m.last_event_id = event_id_from_json(*last);
    if (!m.last_event_id) return invalid("payload.lastEventId must be a string of decimal digits", type);
  }
  return client_message{std::move(m)};
}

decode_result decode_unsubscribe(const json::object& payload) {
  unsubscribe_dashboard m;
  if (auto r = require_user_id(payload, "unsubscribe_dashboard", m.user_id); !r) return r;
  return client_message{std::move(m)};
}

decode_result decode_ack(const json::object& payload) {
  constexpr std::string_view type = "ack";
  ack m;
  if (const auto* id = payload.if_contains("id")) {
    auto n = event_id_from_json(*id);
    if (!n) return invalid("payload.id must be a string of decimal digits", type);
    m.ids.push_back(*n);
  }
  if (const auto* ids = payload.if_contains("ids")) {
    const auto* arr = ids->if_array();
    if (arr == nullptr) return invalid("payload.ids must be an array", type);
    if (arr->size() > max_ack_ids) return invalid(fmt::format("payload.ids holds more than {} ids", max_ack_ids), type);
    for (const auto& v : *arr) {
      auto n = event_id_from_json(v);
      if (!n) return invalid("payload.ids must hold strings of decimal digits", type);
      m.ids.push_back(*n);
    }
  }
  if (m.ids.empty()) return invalid("payload.id or payload.ids is required", type);
  return client_message{std::move(m)};
}

decode_result decode_refresh(const json::object& payload) {
  constexpr std::string_view type = "refresh_token";
  const auto* t = payload.if_contains("token");
  if (t == nullptr || !t->is_string() || t->get_string().empty())
    return invalid("payload.token must be a non-empty string", type);
  if (t->get_string().size() > max_token_bytes) return invalid("payload.token is too long", type);
  return client_message{refresh_token{std::string(t->get_string())}};
}

}  // namespace

std::optional<std::uint64_t> parse_event_id(std::string_view text) noexcept {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

decode_result decode_client_message(std::string_view text) {
  auto parsed = parse_strict_json(text);
  if (!parsed) {
    const auto& refusal = parsed.error();
    if (refusal.path.empty()) return invalid(fmt::format("message is not valid JSON: {}", refusal.message));
    return invalid(fmt::format("{} {}", refusal.path, refusal.message));
  }
  json::value doc = std::move(*parsed);
  auto* envelope = doc.if_object();
  if (envelope == nullptr) return invalid("message must be a JSON object");
  const auto* type_value = envelope->if_contains("type");
  if (type_value == nullptr || !type_value->is_string()) return invalid("type must be a string");
  const std::string_view type = type_value->get_string();

  json::object payload;
  if (auto* p = envelope->if_contains("payload"); p != nullptr && !p->is_null()) {
    if (!p->is_object()) return invalid("payload must be an object", type);
    payload = std::move(p->get_object());
  }
  if (const auto* ts = envelope->if_contains("timestamp"); ts != nullptr && !ts->is_string() && !ts->is_null())
    return invalid("timestamp must be a string", type);
  if (const auto* id = envelope->if_contains("id"); id != nullptr && !id->is_string() && !id->is_number() && !id->is_null())
    return invalid("id must be a string", type);

  if (type == "subscribe_dashboard") return decode_subscribe(payload);
  if (type == "unsubscribe_dashboard") return decode_unsubscribe(payload);
  if (type == "ping") return client_message{ping{std::move(payload)}};
  if (type == "ack") return decode_ack(payload);
  if (type == "refresh_token") return decode_refresh(payload);
  if (type.size() > 64) return invalid("unknown message type");
  return invalid(fmt::format("unknown message type '{}'", type));
}

std::string_view type_name(const client_message& m) noexcept {
  constexpr std::string_view names[] = {"subscribe_dashboard", "unsubscribe_dashboard", "ping", "ack",
                                        "refresh_token"};
  return names[m.index()];
}

std::string encode_envelope(std::string_view type, json::object payload, time_point now, std::string_view id) {
  json::object envelope;
  envelope.reserve(4);
  envelope.emplace("type", json::string_view(type.data(), type.size()));
  envelope.emplace("payload", std::move(payload));
  envelope.emplace("timestamp", format_timestamp(now));
  if (!id.empty()) envelope.emplace("id", json::string_view(id.data(), id.size()));
  return json::serialize(envelope);
}

std::string encode_connection_success(std::string_view user_id, std::string_view session_id,
                                      std::int64_t heartbeat_sec, bool recovered, time_point now) {
  return encode_envelope("connection_success",
                         {{"userId", user_id_to_json(user_id)},
                          {"message", "Successfully connected to dashboard updates"},
                          {"sessionId", json::string_view(session_id.data(), session_id.size())},
                          {"heartbeatSec", heartbeat_sec},
                          {"recovered", recovered}},
                         now);
}

std::string encode_error(const failure& f, time_point now, std::optional<std::chrono::milliseconds> retry_after) {
  const auto& e = info(f.code);
  json::object payload{{"code", json::string_view(e.code.data(), e.code.size())},
                       {"message", f.message.empty() ? json::string(e.default_message) : json::string(f.message)}};
  if (!f.request_type.empty()) payload.emplace("requestType", f.request_type);
  if (retry_after) payload.emplace("retryAfterMs", retry_after->count());
  return encode_envelope("error", std::move(payload), now);
}

std::string encode_pong(const json::object& ping_payload, time_point now) {
  return encode_envelope("pong", ping_payload, now);
}

std::string encode_subscribed(std::string_view user_id, time_point now) {
  return encode_envelope("subscribed", {{"userId", user_id_to_json(user_id)}}, now);
}

std::string encode_unsubscribed(std::string_view user_id, time_point now) {
  return encode_envelope("unsubscribed", {{"userId", user_id_to_json(user_id)}}, now);
}

std::string encode_dashboard_update(const dashboard_stats& s, time_point now) {
  return encode_envelope("dashboard_update",
                         {{"totalTasks", s.total_tasks},
                          {"completedTasks", s.completed_tasks},
                          {"pendingTasks", s.total_tasks - s.completed_tasks},
                          {"updatedAt", format_timestamp(s.updated_at)}},
                         now);
}

// Spliced as text: the payload is serialised once (for history too) and never parsed again.
std::string encode_task_update(std::string_view payload_json, std::uint64_t event_id, time_point now) {
  return fmt::format(R"({{"type":"task_update","payload":{},"timestamp":"{}","id":"{}"}})", payload_json,
                     format_timestamp(now), event_id);
}

std::string encode_task_batch(std::span<const std::pair<std::string_view, std::uint64_t>> updates, time_point now) {
  std::string out = R"({"type":"task_batch","payload":{"updates":[)";
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const auto& [payload, id] = updates[i];
    if (i != 0) out += ',';
    // {"taskId":...} becomes {"id":"42","taskId":...}
    fmt::format_to(std::back_inserter(out), R"({{"id":"{}",{})", id, payload.substr(1));
  }
  fmt::format_to(std::back_inserter(out), R"(]}},"timestamp":"{}"}})", format_timestamp(now));
  return out;
}

std::string encode_connection_status(connection_state state, std::string_view message, time_point now) {
  constexpr std::string_view names[] = {"connected", "reconnecting", "disconnected"};
  const auto name = names[static_cast<int>(state)];
  return encode_envelope("connection_status",
                         {{"status", json::string_view(name.data(), name.size())},
                          {"message", json::string_view(message.data(), message.size())}},
                         now);
}

}  // namespace dh::protocol
