// protocol_messages_test.cpp — the wire contract of SPEC §1/§2: decoding of every client message
// and its rejections, the server encoders, the error table, timestamps and user ids.
#include "protocol/errors.hpp"
#include "protocol/messages.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/user_id.hpp"

#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <regex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace protocol_messages_test {  // unity builds compile several test files as one unit

namespace json = boost::json;
using namespace dh::protocol;
using std::chrono::system_clock;

namespace {

const auto fixed_now = dh::test::contract_time;
constexpr auto fixed_now_text = dh::test::contract_time_text;

bool is_wire_timestamp(std::string_view text) {
  static const std::regex pattern(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return std::regex_match(text.begin(), text.end(), pattern);
}

template <class T>
T decode_as(std::string_view text) {
  INFO("decoding: " << text);
  auto r = decode_client_message(text);
  REQUIRE_MESSAGE(r.has_value(), "rejected: " << (r ? std::string() : r.error().message));
  REQUIRE(std::holds_alternative<T>(*r));
  return std::get<T>(*r);
}

failure decode_failure(std::string_view text) {
  INFO("decoding: " << text);
  auto r = decode_client_message(text);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

// Parses an encoder's output and checks the envelope shape every server message shares.
json::object parse_envelope(const std::string& text, std::string_view expected_type) {
  INFO("envelope: " << text);
  std::error_code ec;
  auto doc = json::parse(text, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(doc.is_object());
  auto& envelope = doc.as_object();
  REQUIRE(envelope.contains("type"));
  REQUIRE(envelope.at("type").is_string());
  CHECK(envelope.at("type").as_string() == expected_type);
  REQUIRE(envelope.contains("payload"));
  CHECK(envelope.at("payload").is_object());
  REQUIRE(envelope.contains("timestamp"));
  REQUIRE(envelope.at("timestamp").is_string());
  CHECK(is_wire_timestamp(envelope.at("timestamp").as_string()));
  return envelope;
}

std::string long_string(std::size_t n, char c = 'x') { return std::string(n, c); }

std::string ids_array(std::size_t n) {
  json::array ids;
  for (std::size_t i = 1; i <= n; ++i) ids.emplace_back(std::to_string(i));
  return json::serialize(ids);
}

}  // namespace

TEST_CASE("decode subscribe_dashboard") {
  SUBCASE("numeric userId becomes its canonical text") {
    const auto m = decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1}})");
    CHECK(m.user_id == "1");
    CHECK_FALSE(m.batch);
    CHECK_FALSE(m.last_event_id.has_value());
  }
  SUBCASE("string userId is kept as is") {
    const auto m = decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":"user-456"}})");
    CHECK(m.user_id == "user-456");
  }
  SUBCASE("string userId with leading zeros is not renumbered") {
    const auto m = decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":"007"}})");
    CHECK(m.user_id == "007");
  }
  SUBCASE("batch true") {
    const auto m = decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1,"batch":true}})");
    CHECK(m.batch);
  }
  SUBCASE("batch false") {
    const auto m = decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1,"batch":false}})");
    CHECK_FALSE(m.batch);
  }
  SUBCASE("lastEventId as a string of digits") {
    const auto m =
        decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"42"}})");
    REQUIRE(m.last_event_id.has_value());
    CHECK(*m.last_event_id == 42u);
  }
  SUBCASE("lastEventId as a number") {
    const auto m =
        decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":42}})");
    REQUIRE(m.last_event_id.has_value());
    CHECK(*m.last_event_id == 42u);
  }
  SUBCASE("lastEventId zero") {
    const auto m =
        decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"0"}})");
    REQUIRE(m.last_event_id.has_value());
    CHECK(*m.last_event_id == 0u);
  }
  SUBCASE("lastEventId null means none") {
    const auto m =
        decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":null}})");
    CHECK_FALSE(m.last_event_id.has_value());
  }
  SUBCASE("lastEventId up to 2^64-1 as a string") {
    const auto m = decode_as<subscribe_dashboard>(
        R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"18446744073709551615"}})");
    REQUIRE(m.last_event_id.has_value());
    CHECK(*m.last_event_id == std::numeric_limits<std::uint64_t>::max());
  }
  SUBCASE("all fields together with an envelope timestamp and id") {
    const auto m = decode_as<subscribe_dashboard>(
        R"({"type":"subscribe_dashboard","payload":{"userId":"user-456","batch":true,"lastEventId":"7"},)"
        R"("timestamp":"2026-01-03T10:30:00.123Z","id":"c-1"})");
    CHECK(m.user_id == "user-456");
    CHECK(m.batch);
    REQUIRE(m.last_event_id.has_value());
    CHECK(*m.last_event_id == 7u);
  }
}

TEST_CASE("decode unsubscribe_dashboard") {
  SUBCASE("numeric userId") {
    const auto m = decode_as<unsubscribe_dashboard>(R"({"type":"unsubscribe_dashboard","payload":{"userId":1}})");
    CHECK(m.user_id == "1");
  }
  SUBCASE("string userId") {
    const auto m =
        decode_as<unsubscribe_dashboard>(R"({"type":"unsubscribe_dashboard","payload":{"userId":"user-456"}})");
    CHECK(m.user_id == "user-456");
  }
}

TEST_CASE("decode ping keeps the payload for the pong") {
  SUBCASE("empty payload") {
    const auto m = decode_as<ping>(R"({"type":"ping","payload":{}})");
    CHECK(m.payload.empty());
  }
  SUBCASE("no payload at all") {
    const auto m = decode_as<ping>(R"({"type":"ping"})");
    CHECK(m.payload.empty());
  }
  SUBCASE("payload with a timestamp") {
    const auto m = decode_as<ping>(R"({"type":"ping","payload":{"timestamp":"2026-01-03T10:30:00.123Z"}})");
    REQUIRE(m.payload.contains("timestamp"));
    CHECK(m.payload.at("timestamp") == json::value("2026-01-03T10:30:00.123Z"));
    CHECK(m.payload.size() == 1u);
  }
  SUBCASE("arbitrary payload is preserved exactly") {
    const auto m = decode_as<ping>(R"({"type":"ping","payload":{"a":[1,"two",{"b":null}],"n":1.5}})");
    CHECK(json::value(m.payload) == json::parse(R"({"a":[1,"two",{"b":null}],"n":1.5})"));
  }
}

TEST_CASE("decode ack") {
  SUBCASE("single id as a string") {
    const auto m = decode_as<ack>(R"({"type":"ack","payload":{"id":"42"}})");
    CHECK(m.ids == std::vector<std::uint64_t>{42});
  }
  SUBCASE("single id as a number") {
    const auto m = decode_as<ack>(R"({"type":"ack","payload":{"id":42}})");
    CHECK(m.ids == std::vector<std::uint64_t>{42});
  }
  SUBCASE("ids array keeps its order") {
    const auto m = decode_as<ack>(R"({"type":"ack","payload":{"ids":["3","1",2]}})");
    CHECK(m.ids == std::vector<std::uint64_t>{3, 1, 2});
  }
  SUBCASE("id and ids together") {
    const auto m = decode_as<ack>(R"({"type":"ack","payload":{"id":"9","ids":["10","11"]}})");
    CHECK(m.ids == std::vector<std::uint64_t>{9, 10, 11});
  }
  SUBCASE("1000 ids is the most allowed") {
    const auto m = decode_as<ack>(R"({"type":"ack","payload":{"ids":)" + ids_array(1000) + "}}");
    CHECK(m.ids.size() == 1000u);
    CHECK(m.ids.front() == 1u);
    CHECK(m.ids.back() == 1000u);
  }
}

TEST_CASE("decode refresh_token") {
  const auto m = decode_as<refresh_token>(R"({"type":"refresh_token","payload":{"token":"aaa.bbb.ccc"}})");
  CHECK(m.token == "aaa.bbb.ccc");
}

TEST_CASE("type_name names every client message") {
  CHECK(type_name(decode_as<subscribe_dashboard>(R"({"type":"subscribe_dashboard","payload":{"userId":1}})")) ==
        "subscribe_dashboard");
  CHECK(type_name(client_message{unsubscribe_dashboard{"1"}}) == "unsubscribe_dashboard");
  CHECK(type_name(client_message{ping{}}) == "ping");
  CHECK(type_name(client_message{ack{{1}}}) == "ack");
  CHECK(type_name(client_message{refresh_token{"t"}}) == "refresh_token");
}

TEST_CASE("decode rejects malformed client messages with INVALID_MESSAGE") {
  struct rejection {
    const char* why;
    std::string text;
  };
  const std::vector<rejection> rejections = {
      {"empty text", ""},
      {"not JSON", "hello"},
      {"truncated JSON", R"({"type":"ping")"},
      {"trailing garbage", R"({"type":"ping"} x)"},
      {"array", R"([{"type":"ping"}])"},
      {"empty array", "[]"},
      {"number", "42"},
      {"string", R"("ping")"},
      {"null", "null"},
      {"missing type", R"({"payload":{}})"},
      {"numeric type", R"({"type":42,"payload":{}})"},
      {"null type", R"({"type":null})"},
      {"array type", R"({"type":["ping"]})"},
      {"unknown type", R"({"type":"pong","payload":{}})"},
      {"unknown type close to a real one", R"({"type":"subscribe","payload":{"userId":1}})"},
      {"type with different case", R"({"type":"PING"})"},
      {"empty type", R"({"type":""})"},
      {"very long unknown type", R"({"type":")" + long_string(200) + R"("})"},
      {"payload is an array", R"({"type":"ping","payload":[]})"},
      {"payload is a string", R"({"type":"ping","payload":"x"})"},
      {"payload is a number", R"({"type":"subscribe_dashboard","payload":1})"},
      {"timestamp is a number", R"({"type":"ping","payload":{},"timestamp":123})"},
      {"envelope id is an object", R"({"type":"ping","payload":{},"id":{}})"},
      {"subscribe without payload", R"({"type":"subscribe_dashboard"})"},
      {"subscribe without userId", R"({"type":"subscribe_dashboard","payload":{}})"},
      {"subscribe userId boolean", R"({"type":"subscribe_dashboard","payload":{"userId":true}})"},
      {"subscribe userId null", R"({"type":"subscribe_dashboard","payload":{"userId":null}})"},
      {"subscribe userId negative", R"({"type":"subscribe_dashboard","payload":{"userId":-1}})"},
      {"subscribe userId fractional", R"({"type":"subscribe_dashboard","payload":{"userId":1.5}})"},
      {"subscribe userId object", R"({"type":"subscribe_dashboard","payload":{"userId":{}}})"},
      {"subscribe batch string", R"({"type":"subscribe_dashboard","payload":{"userId":1,"batch":"yes"}})"},
      {"subscribe batch number", R"({"type":"subscribe_dashboard","payload":{"userId":1,"batch":1}})"},
      {"lastEventId negative number", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":-1}})"},
      {"lastEventId negative string", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"-1"}})"},
      {"lastEventId not digits", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"abc"}})"},
      {"lastEventId empty", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":""}})"},
      {"lastEventId with a space", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"4 2"}})"},
      {"lastEventId with a plus", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"+42"}})"},
      {"lastEventId fractional", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":1.5}})"},
      {"lastEventId boolean", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":true}})"},
      {"lastEventId beyond 2^64", R"({"type":"subscribe_dashboard","payload":{"userId":1,"lastEventId":"18446744073709551616"}})"},
      {"unsubscribe without userId", R"({"type":"unsubscribe_dashboard","payload":{}})"},
      {"unsubscribe userId array", R"({"type":"unsubscribe_dashboard","payload":{"userId":[1]}})"},
      {"ack without id or ids", R"({"type":"ack","payload":{}})"},
      {"ack id not digits", R"({"type":"ack","payload":{"id":"x"}})"},
      {"ack id negative", R"({"type":"ack","payload":{"id":-3}})"},
      {"ack id object", R"({"type":"ack","payload":{"id":{}}})"},
      {"ack ids not an array", R"({"type":"ack","payload":{"ids":"1"}})"},
      {"ack ids empty", R"({"type":"ack","payload":{"ids":[]}})"},
      {"ack ids holding a boolean", R"({"type":"ack","payload":{"ids":["1",true]}})"},
      {"ack ids holding a negative", R"({"type":"ack","payload":{"ids":[-1]}})"},
      {"ack with too many ids", R"({"type":"ack","payload":{"ids":)" + ids_array(1001) + "}}"},
      {"refresh_token without token", R"({"type":"refresh_token","payload":{}})"},
      {"refresh_token empty token", R"({"type":"refresh_token","payload":{"token":""}})"},
      {"refresh_token numeric token", R"({"type":"refresh_token","payload":{"token":5}})"},
      {"refresh_token null token", R"({"type":"refresh_token","payload":{"token":null}})"},
      {"refresh_token oversize token", R"({"type":"refresh_token","payload":{"token":")" + long_string(8193) + R"("}})"},
  };
  for (const auto& r : rejections) {
    CAPTURE(r.why);
    const auto f = decode_failure(r.text);
    CHECK(f.code == errc::invalid_message);
    CHECK_FALSE(f.message.empty());
  }
}

TEST_CASE("decode rejections name the request type when it is known") {
  CHECK(decode_failure(R"({"type":"subscribe_dashboard","payload":{}})").request_type == "subscribe_dashboard");
  CHECK(decode_failure(R"({"type":"ack","payload":{"ids":[]}})").request_type == "ack");
  CHECK(decode_failure(R"({"type":"refresh_token","payload":{"token":""}})").request_type == "refresh_token");
  CHECK(decode_failure(R"({"type":"ping","payload":[]})").request_type == "ping");
  CHECK(decode_failure("not json").request_type.empty());
  CHECK(decode_failure(R"({"type":42})").request_type.empty());
}

TEST_CASE("encode_connection_success") {
  const auto envelope = parse_envelope(encode_connection_success("1", "sess-9", 30, true, fixed_now), "connection_success");
  CHECK(envelope.at("timestamp").as_string() == fixed_now_text);
  CHECK_FALSE(envelope.contains("id"));
  const auto& payload = envelope.at("payload").as_object();
  CHECK(payload.at("userId") == json::value(1));
  CHECK(payload.at("userId").is_number());
  CHECK(payload.at("sessionId") == json::value("sess-9"));
  CHECK(payload.at("heartbeatSec") == json::value(30));
  CHECK(payload.at("recovered") == json::value(true));
  REQUIRE(payload.contains("message"));
  CHECK(payload.at("message").is_string());
}

TEST_CASE("encoders write userId as a number only for canonical integers below 2^53") {
  struct expectation {
    std::string id;
    json::value expected;
  };
  const std::vector<expectation> cases = {
      {"1", json::value(1)},
      {"0", json::value(0)},
      {"9007199254740991", json::value(std::uint64_t{9007199254740991})},
      {"user-456", json::value("user-456")},
      {"007", json::value("007")},
      {"9007199254740992", json::value("9007199254740992")},
      {"18446744073709551616", json::value("18446744073709551616")},
      {"1.5", json::value("1.5")},
  };
  for (const auto& c : cases) {
    CAPTURE(c.id);
    const std::pair<std::string, std::string_view> encoded[] = {
        {encode_subscribed(c.id, fixed_now), "subscribed"},
        {encode_unsubscribed(c.id, fixed_now), "unsubscribed"},
        {encode_connection_success(c.id, "s", 30, false, fixed_now), "connection_success"}};
    for (const auto& [text, type] : encoded) {
      const auto envelope = parse_envelope(text, type);
      const auto& user_id = envelope.at("payload").as_object().at("userId");
      CHECK(user_id.is_string() == c.expected.is_string());
      if (c.expected.is_string()) {
        CHECK(user_id == c.expected);
      } else {
        REQUIRE(user_id.is_number());
        CHECK(user_id.to_number<std::uint64_t>() == c.expected.to_number<std::uint64_t>());
      }
    }
  }
}

TEST_CASE("encode_subscribed and encode_unsubscribed") {
  const auto subscribed = parse_envelope(encode_subscribed("user-456", fixed_now), "subscribed");
  CHECK(subscribed.at("payload").as_object().size() == 1u);
  CHECK(subscribed.at("timestamp").as_string() == fixed_now_text);
  const auto unsubscribed = parse_envelope(encode_unsubscribed("user-456", fixed_now), "unsubscribed");
  CHECK(unsubscribed.at("payload").as_object().at("userId") == json::value("user-456"));
}

TEST_CASE("encode_error") {
  SUBCASE("with request type and retryAfterMs") {
    const auto envelope =
        parse_envelope(encode_error({errc::rate_limited, "slow down", "ping"}, fixed_now, std::chrono::milliseconds{1500}),
                       "error");
    const auto& payload = envelope.at("payload").as_object();
    CHECK(payload.at("code") == json::value("RATE_LIMITED"));
    CHECK(payload.at("message") == json::value("slow down"));
    CHECK(payload.at("requestType") == json::value("ping"));
    CHECK(payload.at("retryAfterMs") == json::value(1500));
    CHECK(envelope.at("timestamp").as_string() == fixed_now_text);
  }
  SUBCASE("without them the optional fields are absent") {
    const auto envelope = parse_envelope(encode_error({errc::auth_invalid, "bad token", {}}, fixed_now), "error");
    const auto& payload = envelope.at("payload").as_object();
    CHECK(payload.at("code") == json::value("AUTH_INVALID"));
    CHECK_FALSE(payload.contains("requestType"));
    CHECK_FALSE(payload.contains("retryAfterMs"));
    CHECK(payload.size() == 2u);
  }
  SUBCASE("an empty message falls back to the default one") {
    const auto envelope = parse_envelope(encode_error({errc::auth_expired, "", {}}, fixed_now), "error");
    const auto& payload = envelope.at("payload").as_object();
    CHECK(payload.at("code") == json::value("AUTH_EXPIRED"));
    CHECK(payload.at("message").as_string() == info(errc::auth_expired).default_message);
    CHECK_FALSE(payload.at("message").as_string().empty());
  }
  SUBCASE("UTF-8 and oversize failures are reported as INVALID_MESSAGE") {
    for (auto code : {errc::invalid_utf8, errc::message_too_big}) {
      const auto envelope = parse_envelope(encode_error({code, "x", {}}, fixed_now), "error");
      CHECK(envelope.at("payload").as_object().at("code") == json::value("INVALID_MESSAGE"));
    }
  }
}

TEST_CASE("encode_pong echoes the ping payload unchanged") {
  SUBCASE("timestamp payload") {
    const json::object ping_payload{{"timestamp", "2020-01-01T00:00:00.000Z"}};
    const auto envelope = parse_envelope(encode_pong(ping_payload, fixed_now), "pong");
    CHECK(envelope.at("payload").as_object() == ping_payload);
    CHECK(envelope.at("timestamp").as_string() == fixed_now_text);
  }
  SUBCASE("empty payload") {
    const auto envelope = parse_envelope(encode_pong({}, fixed_now), "pong");
    CHECK(envelope.at("payload").as_object().empty());
  }
  SUBCASE("nested payload straight from the decoder") {
    const auto m = decode_as<ping>(R"({"type":"ping","payload":{"a":[1,"two",{"b":null}],"n":1.5,"s":"é"}})");
    const auto envelope = parse_envelope(encode_pong(m.payload, fixed_now), "pong");
    CHECK(envelope.at("payload") == json::parse(R"({"a":[1,"two",{"b":null}],"n":1.5,"s":"é"})"));
  }
}

TEST_CASE("encode_dashboard_update") {
  const auto updated_at = std::chrono::sys_days{std::chrono::year{2026} / 1 / 2} + std::chrono::hours{8} +
                          std::chrono::milliseconds{5};
  const auto envelope = parse_envelope(encode_dashboard_update({10, 4, updated_at}, fixed_now), "dashboard_update");
  const auto& payload = envelope.at("payload").as_object();
  CHECK(payload.at("totalTasks") == json::value(10));
  CHECK(payload.at("completedTasks") == json::value(4));
  CHECK(payload.at("pendingTasks") == json::value(6));
  CHECK(payload.at("updatedAt") == json::value("2026-01-02T08:00:00.005Z"));
}

TEST_CASE("encode_connection_status") {
  const std::pair<connection_state, const char*> states[] = {{connection_state::connected, "connected"},
                                                             {connection_state::reconnecting, "reconnecting"},
                                                             {connection_state::disconnected, "disconnected"}};
  for (const auto& [state, name] : states) {
    CAPTURE(name);
    const auto envelope = parse_envelope(encode_connection_status(state, "server going down", fixed_now), "connection_status");
    const auto& payload = envelope.at("payload").as_object();
    CHECK(payload.at("status") == json::value(name));
    CHECK(payload.at("message") == json::value("server going down"));
  }
}

TEST_CASE("encode_envelope writes id only when given") {
  const auto with_id = parse_envelope(encode_envelope("task_update", {{"taskId", "t1"}}, fixed_now, "42"), "task_update");
  REQUIRE(with_id.contains("id"));
  CHECK(with_id.at("id") == json::value("42"));
  CHECK(with_id.size() == 4u);
  const auto without_id = parse_envelope(encode_envelope("task_update", {}, fixed_now), "task_update");
  CHECK_FALSE(without_id.contains("id"));
  CHECK(without_id.size() == 3u);
}

TEST_CASE("error table matches SPEC section 2") {
  struct row {
    errc code;
    std::string_view name;
    std::uint16_t close_code;
  };
  const row rows[] = {
      {errc::auth_invalid, "AUTH_INVALID", 4001},
      {errc::auth_expired, "AUTH_EXPIRED", 4002},
      {errc::user_not_found, "USER_NOT_FOUND", 4004},
      {errc::connection_limit, "CONNECTION_LIMIT", 4008},
      {errc::rate_limited, "RATE_LIMITED", 4029},
      {errc::invalid_message, "INVALID_MESSAGE", 1008},
      {errc::invalid_utf8, "INVALID_MESSAGE", 1007},
      {errc::message_too_big, "INVALID_MESSAGE", 1009},
      {errc::subscription_failed, "SUBSCRIPTION_FAILED", 0},
      {errc::slow_consumer, "SLOW_CONSUMER", 4013},
      {errc::idle_timeout, "IDLE_TIMEOUT", 4000},
      {errc::internal_error, "INTERNAL_ERROR", 1011},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK(info(r.code).code == r.name);
    CHECK(info(r.code).close_code == r.close_code);
    CHECK_FALSE(info(r.code).default_message.empty());
    const std::error_code ec = r.code;
    CHECK(&ec.category() == &error_category());
    CHECK(ec.message() == info(r.code).default_message);
  }
}

TEST_CASE("error category") {
  CHECK(std::string_view(error_category().name()) == "dashboard-hub");
  CHECK(error_category().message(0) == "unknown error");
  CHECK(error_category().message(99) == "unknown error");
  CHECK(make_error_code(errc::slow_consumer).value() == static_cast<int>(errc::slow_consumer));
}

TEST_CASE("format_timestamp") {
  CHECK(format_timestamp(fixed_now) == fixed_now_text);
  CHECK(format_timestamp(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
  SUBCASE("sub-millisecond precision is truncated") {
    CHECK(format_timestamp(fixed_now + std::chrono::microseconds{999}) == fixed_now_text);
  }
  SUBCASE("end of a leap day") {
    const auto t = std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} + std::chrono::hours{23} +
                   std::chrono::minutes{59} + std::chrono::seconds{59} + std::chrono::milliseconds{999};
    CHECK(format_timestamp(t) == "2024-02-29T23:59:59.999Z");
  }
  SUBCASE("before the epoch") {
    CHECK(format_timestamp(system_clock::time_point{} - std::chrono::milliseconds{1}) == "1969-12-31T23:59:59.999Z");
  }
}

TEST_CASE("parse_timestamp accepts the documented forms") {
  SUBCASE("round trip") {
    for (const auto t : {fixed_now, system_clock::time_point{},
                         system_clock::time_point{} - std::chrono::milliseconds{1},
                         fixed_now + std::chrono::hours{24 * 400} + std::chrono::milliseconds{876}}) {
      const auto text = format_timestamp(t);
      CAPTURE(text);
      const auto parsed = parse_timestamp(text);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == t);
      CHECK(format_timestamp(*parsed) == text);
    }
  }
  SUBCASE("without fraction") {
    CHECK(parse_timestamp("2026-01-03T10:30:00Z") == fixed_now - std::chrono::milliseconds{123});
  }
  SUBCASE("short and long fractions") {
    CHECK(parse_timestamp("2026-01-03T10:30:00.1Z") == fixed_now - std::chrono::milliseconds{23});
    CHECK(parse_timestamp("2026-01-03T10:30:00.123456Z") == fixed_now);
  }
  SUBCASE("offsets are converted to UTC") {
    CHECK(parse_timestamp("2026-01-03T12:30:00.123+02:00") == fixed_now);
    CHECK(parse_timestamp("2026-01-03T05:00:00.123-05:30") == fixed_now);
  }
  SUBCASE("lower-case separators") {
    CHECK(parse_timestamp("2026-01-03t10:30:00.123z") == fixed_now);
  }
  SUBCASE("the clock's whole range") {
    CHECK(parse_timestamp("1678-01-01T00:00:00Z").has_value());
    CHECK(parse_timestamp("2262-01-01T00:00:00Z").has_value());
  }
}

TEST_CASE("parse_timestamp rejects everything else") {
  const char* rejected[] = {
      "",
      "2026-01-03",
      "2026-01-03T10:30:00",         // no zone
      "2026-01-03T10:30:00.123",     // no zone
      "2026-01-03T10:30Z",           // no seconds
      "2026-01-03T10:30:00.Z",       // empty fraction
      "2026-01-03T10:30:00.123Zjunk",
      "2026-01-03T10:30:00.123+0200",
      "2026-01-03T10:30:00.123+02",
      "2026-1-3T10:30:00Z",
      "26-01-03T10:30:00Z",
      "2026/01/03T10:30:00Z",
      "2026-01-03X10:30:00Z",
      "2026-13-01T00:00:00Z",
      "2026-00-01T00:00:00Z",
      "2026-02-30T00:00:00Z",
      "2026-01-32T00:00:00Z",
      "2026-01-03T24:00:00Z",
      "2026-01-03T10:60:00Z",
      "2026-01-03T10:30:61Z",
      "2026-01-03T1a:30:00Z",
      " 2026-01-03T10:30:00Z",
      "2026-01-03T10:30:00Z ",
      "1013-01-02T09:00:00Z",  // before 1677: past what the clock holds (found by fuzz_ingest)
      "9999-12-31T23:59:59Z",  // after 2262, likewise
  };
  for (const char* text : rejected) {
    CAPTURE(text);
    CHECK_FALSE(parse_timestamp(text).has_value());
  }
}

TEST_CASE("parse_timestamp rejects an offset that is not HH:MM") {
  // The header promises "+HH:MM"; an hour above 23 or a minute above 59 is not a valid offset.
  CHECK(parse_timestamp("2026-01-03T10:30:00.123+23:59").has_value());
  CHECK_FALSE(parse_timestamp("2026-01-03T10:30:00.123+02:60").has_value());
  CHECK_FALSE(parse_timestamp("2026-01-03T10:30:00.123+99:99").has_value());
  CHECK_FALSE(parse_timestamp("2026-01-03T10:30:00.123-24:00").has_value());
}

TEST_CASE("is_valid_user_id") {
  SUBCASE("valid ids") {
    for (std::string_view id : {"1", "user-456", "a.b_c-D", "007", "Z", "..", "-"}) {
      CAPTURE(id);
      CHECK(is_valid_user_id(id));
    }
    CHECK(is_valid_user_id(long_string(64, 'a')));
  }
  SUBCASE("invalid ids") {
    for (std::string_view id : {"", "a b", "a/b", "a:b", "a@b", "user+1", "caf\xc3\xa9", "a\nb", "%41"}) {
      CAPTURE(id);
      CHECK_FALSE(is_valid_user_id(id));
    }
    CHECK_FALSE(is_valid_user_id(long_string(65, 'a')));
    CHECK_FALSE(is_valid_user_id(std::string_view("a\0b", 3)));
  }
}

TEST_CASE("user_id_from_json") {
  CHECK(user_id_from_json(json::value(42)) == std::optional<std::string>("42"));
  CHECK(user_id_from_json(json::value(0)) == std::optional<std::string>("0"));
  CHECK(user_id_from_json(json::value(std::uint64_t{18446744073709551615u})) ==
        std::optional<std::string>("18446744073709551615"));
  CHECK(user_id_from_json(json::value("user-456")) == std::optional<std::string>("user-456"));
  CHECK_FALSE(user_id_from_json(json::value(-1)).has_value());
  CHECK_FALSE(user_id_from_json(json::value(1.0)).has_value());
  CHECK_FALSE(user_id_from_json(json::value(true)).has_value());
  CHECK_FALSE(user_id_from_json(json::value(nullptr)).has_value());
  CHECK_FALSE(user_id_from_json(json::value(json::array{})).has_value());
}

}  // namespace protocol_messages_test
