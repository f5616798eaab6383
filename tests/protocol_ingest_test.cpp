// protocol_ingest_test.cpp — POST /api/v1/events bodies (SPEC §3): the native, seed-004 and
// CloudEvents shapes, single and array bodies, field normalisation, and all-or-nothing rejection.
#include "protocol/ingest.hpp"
#include "protocol/task_event.hpp"
#include "protocol/timestamp.hpp"

#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace protocol_ingest_test {  // unity builds compile several test files as one unit

namespace json = boost::json;
using namespace dh::protocol;
using std::chrono::system_clock;

namespace {

const auto fixed_now = dh::test::contract_time;
constexpr auto fixed_now_text = dh::test::contract_time_text;

system_clock::time_point at(std::string_view text) {
  auto t = parse_timestamp(text);
  REQUIRE_MESSAGE(t.has_value(), "bad test timestamp: " << text);
  return *t;
}

std::vector<task_event> parse_ok(std::string_view body, const ingest_limits& limits = {}) {
  INFO("body: " << body);
  auto r = parse_ingest(body, fixed_now, limits);
  std::string why;
  if (!r)
    for (const auto& e : r.error()) why += e.field + " " + e.message + "; ";
  REQUIRE_MESSAGE(r.has_value(), "rejected: " << why);
  return std::move(*r);
}

task_event parse_one(std::string_view body) {
  auto events = parse_ok(body);
  REQUIRE(events.size() == 1);
  return std::move(events.front());
}

std::vector<field_error> parse_bad(std::string_view body, const ingest_limits& limits = {}) {
  INFO("body: " << body.substr(0, 300));
  auto r = parse_ingest(body, fixed_now, limits);
  REQUIRE_FALSE(r.has_value());
  REQUIRE_FALSE(r.error().empty());
  return r.error();
}

// The reported field paths, comma-separated, e.g. "[1].userId, [3].task.status".
std::string fields_of(const std::vector<field_error>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += ", ";
    out += e.field;
  }
  return out;
}

std::string string_of(const json::object& o, std::string_view key) {
  REQUIRE_MESSAGE(o.contains(key), "missing " << key << " in " << json::serialize(o));
  REQUIRE(o.at(key).is_string());
  return std::string(o.at(key).get_string());
}

std::string array_of(std::size_t n, std::string_view item) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ',';
    out += item;
  }
  return out + "]";
}

constexpr std::string_view good_native = R"({"action":"created","userId":1,"task":{"id":1,"title":"ok"}})";

}  // namespace

TEST_CASE("native created event with every field") {
  const auto e = parse_one(
      R"({"action":"created","userId":1,"sharedWith":["user-456",7,"7",1,"alice"],)"
      R"("task":{"id":42,"title":"Buy milk","description":"2 litres","status":false,"category":"home",)"
      R"("priority":3,"updatedAt":"2026-01-02T09:00:00Z","tags":["a","b"]}})");
  CHECK(e.action == task_action::created);
  CHECK(e.owner == "1");
  SUBCASE("sharedWith is deduplicated, sorted and without the owner") {
    CHECK(e.sets_audience);
    CHECK(e.shared_with == std::vector<std::string>{"7", "alice", "user-456"});
  }
  SUBCASE("numeric task id keeps its JSON type") {
    CHECK(e.task_key == "42");
    REQUIRE(e.task_id.is_int64());
    CHECK(e.task_id.get_int64() == 42);
    REQUIRE(e.task.contains("id"));
    CHECK(e.task.at("id") == json::value(42));
  }
  SUBCASE("fields are passed through as given") {
    CHECK(string_of(e.task, "title") == "Buy milk");
    CHECK(string_of(e.task, "description") == "2 litres");
    CHECK(string_of(e.task, "category") == "home");
    REQUIRE(e.task.contains("priority"));
    CHECK(e.task.at("priority") == json::value(3));
    REQUIRE(e.task.contains("tags"));
    CHECK(json::serialize(e.task.at("tags")) == R"(["a","b"])");
  }
  SUBCASE("status and updatedAt are typed and normalised") {
    CHECK_FALSE(e.completed);
    CHECK(e.task.at("status") == json::value(false));
    CHECK(string_of(e.task, "updatedAt") == "2026-01-02T09:00:00.000Z");
    CHECK(e.updated_at == at("2026-01-02T09:00:00Z"));
  }
}

TEST_CASE("native event minimal fields") {
  const auto e = parse_one(R"({"action":"updated","userId":"user-456","task":{"id":"t-1","priority":"medium"}})");
  CHECK(e.action == task_action::updated);
  CHECK(e.owner == "user-456");
  CHECK_FALSE(e.sets_audience);
  CHECK(e.shared_with.empty());
  SUBCASE("string task id") {
    CHECK(e.task_key == "t-1");
    REQUIRE(e.task_id.is_string());
    CHECK(e.task_id.get_string() == "t-1");
    CHECK(string_of(e.task, "id") == "t-1");
  }
  SUBCASE("string priority passes through") { CHECK(string_of(e.task, "priority") == "medium"); }
  SUBCASE("missing updatedAt is stamped with now") {
    CHECK(e.updated_at == fixed_now);
    CHECK(string_of(e.task, "updatedAt") == fixed_now_text);
  }
  SUBCASE("missing status means not completed") {
    CHECK_FALSE(e.completed);
    CHECK(e.task.at("status") == json::value(false));
  }
}

TEST_CASE("native event status true sets completed") {
  const auto e = parse_one(R"({"action":"updated","userId":1,"task":{"id":5,"status":true}})");
  CHECK(e.completed);
  CHECK(e.task.at("status") == json::value(true));
}

TEST_CASE("sharedWith null or empty leaves the audience as described") {
  SUBCASE("null: the event does not name an audience") {
    const auto e = parse_one(R"({"action":"updated","userId":1,"sharedWith":null,"task":{"id":5}})");
    CHECK_FALSE(e.sets_audience);
  }
  SUBCASE("empty array: the event clears the audience") {
    const auto e = parse_one(R"({"action":"updated","userId":1,"sharedWith":[],"task":{"id":5}})");
    CHECK(e.sets_audience);
    CHECK(e.shared_with.empty());
  }
  SUBCASE("only the owner: cleared too") {
    const auto e = parse_one(R"({"action":"updated","userId":"1","sharedWith":[1,"1"],"task":{"id":5}})");
    CHECK(e.sets_audience);
    CHECK(e.shared_with.empty());
  }
}

TEST_CASE("completed and reopened map to updated with the implied status") {
  SUBCASE("native completed") {
    const auto e = parse_one(R"({"action":"completed","userId":1,"task":{"id":5,"status":false}})");
    CHECK(e.action == task_action::updated);
    CHECK(e.completed);
    CHECK(e.task.at("status") == json::value(true));
  }
  SUBCASE("native reopened") {
    const auto e = parse_one(R"({"action":"reopened","userId":1,"task":{"id":5,"status":true}})");
    CHECK(e.action == task_action::updated);
    CHECK_FALSE(e.completed);
    CHECK(e.task.at("status") == json::value(false));
  }
  SUBCASE("seed-004 task.completed") {
    const auto e = parse_one(R"({"event_type":"task.completed","user_id":"u","task":{"id":5,"completed":false}})");
    CHECK(e.action == task_action::updated);
    CHECK(e.completed);
    CHECK(e.task.at("status") == json::value(true));
    CHECK_FALSE(e.task.contains("completed"));
  }
  SUBCASE("seed-004 task.reopened") {
    const auto e = parse_one(R"({"event_type":"task.reopened","user_id":"u","task":{"id":5,"completed":true}})");
    CHECK(e.action == task_action::updated);
    CHECK_FALSE(e.completed);
  }
}

TEST_CASE("seed-004 event shape") {
  const auto e = parse_one(
      R"({"event_type":"task.created","user_id":"user-456","task":{"id":123,"user_id":"user-456",)"
      R"("title":"Buy groceries","description":"Milk, eggs, bread","completed":true,"priority":"medium",)"
      R"("created_at":"2025-12-31T12:00:00Z","updated_at":"2025-12-31T12:00:00Z"}})");
  CHECK(e.action == task_action::created);
  CHECK(e.owner == "user-456");
  CHECK(e.task_key == "123");
  CHECK(e.task_id == json::value(123));
  SUBCASE("completed becomes status") {
    CHECK(e.completed);
    CHECK(e.task.at("status") == json::value(true));
    CHECK_FALSE(e.task.contains("completed"));
  }
  SUBCASE("updated_at becomes updatedAt with millis") {
    CHECK(string_of(e.task, "updatedAt") == "2025-12-31T12:00:00.000Z");
    CHECK(e.updated_at == at("2025-12-31T12:00:00Z"));
    CHECK_FALSE(e.task.contains("updated_at"));
  }
  SUBCASE("other fields pass through unchanged") {
    CHECK(string_of(e.task, "title") == "Buy groceries");
    CHECK(string_of(e.task, "priority") == "medium");
    CHECK(string_of(e.task, "created_at") == "2025-12-31T12:00:00Z");
    CHECK(string_of(e.task, "user_id") == "user-456");
  }
}

TEST_CASE("seed-004 actions") {
  CHECK(parse_one(R"({"event_type":"task.updated","user_id":1,"task":{"id":1}})").action == task_action::updated);
  CHECK(parse_one(R"({"event_type":"task.deleted","user_id":1,"task":{"id":1}})").action == task_action::deleted);
  SUBCASE("shared_with is the seed spelling of sharedWith") {
    const auto e = parse_one(R"({"event_type":"task.updated","user_id":1,"shared_with":[3,2,3],"task":{"id":1}})");
    CHECK(e.sets_audience);
    CHECK(e.shared_with == std::vector<std::string>{"2", "3"});
  }
}

TEST_CASE("updatedAt is normalised to UTC with milliseconds") {
  struct sample {
    const char* given;
    const char* expected;
  };
  const std::vector<sample> samples = {
      {"2026-01-03T10:30:00Z", "2026-01-03T10:30:00.000Z"},
      {"2026-01-03T10:30:00.5Z", "2026-01-03T10:30:00.500Z"},
      {"2026-01-03T10:30:00.123456Z", "2026-01-03T10:30:00.123Z"},
      {"2026-01-03T12:30:00.250+02:00", "2026-01-03T10:30:00.250Z"},
      {"2026-01-02T23:00:00-11:30", "2026-01-03T10:30:00.000Z"},
  };
  for (const auto& s : samples) {
    CAPTURE(s.given);
    const auto e = parse_one(std::string(R"({"action":"updated","userId":1,"task":{"id":1,"updatedAt":")") + s.given +
                             R"("}})");
    CHECK(string_of(e.task, "updatedAt") == s.expected);
    CHECK(e.updated_at == at(s.expected));
  }
}

TEST_CASE("deleted needs only the task id") {
  SUBCASE("numeric id") {
    const auto e = parse_one(R"({"action":"deleted","userId":1,"task":{"id":42}})");
    CHECK(e.action == task_action::deleted);
    CHECK(e.task_key == "42");
    CHECK(e.updated_at == fixed_now);
  }
  SUBCASE("string id, seed-004 shape") {
    const auto e = parse_one(R"({"event_type":"task.deleted","user_id":"u","task":{"id":"abc"}})");
    CHECK(e.action == task_action::deleted);
    CHECK(e.task_key == "abc");
  }
}

TEST_CASE("task ids: numbers and strings") {
  CHECK(parse_one(R"({"action":"updated","userId":1,"task":{"id":0}})").task_key == "0");
  const auto big = parse_one(R"({"action":"updated","userId":1,"task":{"id":18446744073709551615}})");
  CHECK(big.task_key == "18446744073709551615");
  CHECK(big.task_id.is_uint64());
  CHECK(parse_one(R"({"action":"updated","userId":1,"task":{"id":")" + std::string(128, 'k') + R"("}})").task_key ==
        std::string(128, 'k'));
}

TEST_CASE("CloudEvents 1.0 structured envelope") {
  SUBCASE("wrapping the native shape") {
    const auto e = parse_one(
        R"({"specversion":"1.0","type":"com.dapr.event.sent","source":"todo-backend","id":"e-1",)"
        R"("datacontenttype":"application/json",)"
        R"("data":{"action":"created","userId":1,"sharedWith":[2],"task":{"id":9,"title":"x"}}})");
    CHECK(e.action == task_action::created);
    CHECK(e.owner == "1");
    CHECK(e.shared_with == std::vector<std::string>{"2"});
    CHECK(e.task_key == "9");
    CHECK(string_of(e.task, "title") == "x");
  }
  SUBCASE("wrapping the seed-004 shape") {
    const auto e = parse_one(
        R"({"specversion":"1.0","type":"com.dapr.event.sent","source":"todo-backend","id":"e-2",)"
        R"("data":{"event_type":"task.completed","user_id":"user-456","task":{"id":9,"updated_at":"2026-01-01T00:00:00Z"}}})");
    CHECK(e.action == task_action::updated);
    CHECK(e.owner == "user-456");
    CHECK(e.completed);
    CHECK(string_of(e.task, "updatedAt") == "2026-01-01T00:00:00.000Z");
  }
  SUBCASE("the CloudEvent type names the action when data has none") {
    const auto e = parse_one(
        R"({"specversion":"1.0","type":"task.deleted","source":"todo-backend","id":"e-3",)"
        R"("data":{"user_id":"user-456","task":{"id":9}}})");
    CHECK(e.action == task_action::deleted);
    CHECK(e.owner == "user-456");
    CHECK(e.task_key == "9");
  }
}

TEST_CASE("array bodies keep the order of their events") {
  const auto events = parse_ok(
      R"([{"action":"created","userId":1,"task":{"id":1}},)"
      R"({"event_type":"task.updated","user_id":2,"task":{"id":2,"completed":true}},)"
      R"({"specversion":"1.0","type":"t","source":"s","id":"i","data":{"action":"deleted","userId":3,"task":{"id":3}}}])");
  REQUIRE(events.size() == 3);
  CHECK(events[0].action == task_action::created);
  CHECK(events[0].owner == "1");
  CHECK(events[1].action == task_action::updated);
  CHECK(events[1].owner == "2");
  CHECK(events[1].completed);
  CHECK(events[2].action == task_action::deleted);
  CHECK(events[2].owner == "3");
  CHECK(events[2].task_key == "3");
}

TEST_CASE("parse_ingest rejects bad input naming the field") {
  struct rejection {
    const char* why;
    std::string body;
    std::string field;
  };
  const std::string long_id(65, 'a');
  const std::vector<rejection> rejections = {
      {"invalid JSON", "not json", "body"},
      {"empty body", "", "body"},
      {"truncated JSON", R"({"action":"created")", "body"},
      {"empty array", "[]", "body"},
      {"number", "42", "body"},
      {"string", R"("created")", "body"},
      {"array item not an object", R"([1])", "[0]"},
      {"no action", R"({"userId":1,"task":{"id":1}})", "action"},
      {"unknown action", R"({"action":"moved","userId":1,"task":{"id":1}})", "action"},
      {"numeric action", R"({"action":1,"userId":1,"task":{"id":1}})", "action"},
      {"missing userId", R"({"action":"created","task":{"id":1}})", "userId"},
      {"negative userId", R"({"action":"created","userId":-1,"task":{"id":1}})", "userId"},
      {"fractional userId", R"({"action":"created","userId":1.5,"task":{"id":1}})", "userId"},
      {"boolean userId", R"({"action":"created","userId":true,"task":{"id":1}})", "userId"},
      {"null userId", R"({"action":"created","userId":null,"task":{"id":1}})", "userId"},
      {"empty userId", R"({"action":"created","userId":"","task":{"id":1}})", "userId"},
      {"userId with a space", R"({"action":"created","userId":"a b","task":{"id":1}})", "userId"},
      {"userId with a slash", R"({"action":"created","userId":"../etc","task":{"id":1}})", "userId"},
      {"userId of 65 chars", R"({"action":"created","userId":")" + long_id + R"(","task":{"id":1}})", "userId"},
      {"missing task", R"({"action":"created","userId":1})", "task"},
      {"task is an array", R"({"action":"created","userId":1,"task":[]})", "task"},
      {"task is null", R"({"action":"deleted","userId":1,"task":null})", "task"},
      {"task without id", R"({"action":"created","userId":1,"task":{"title":"x"}})", "task.id"},
      {"deleted without task id", R"({"action":"deleted","userId":1,"task":{}})", "task.id"},
      {"negative task id", R"({"action":"created","userId":1,"task":{"id":-1}})", "task.id"},
      {"fractional task id", R"({"action":"created","userId":1,"task":{"id":1.5}})", "task.id"},
      {"empty task id", R"({"action":"created","userId":1,"task":{"id":""}})", "task.id"},
      {"null task id", R"({"action":"created","userId":1,"task":{"id":null}})", "task.id"},
      {"boolean task id", R"({"action":"created","userId":1,"task":{"id":true}})", "task.id"},
      {"object task id", R"({"action":"created","userId":1,"task":{"id":{}}})", "task.id"},
      {"task id of 129 bytes", R"({"action":"created","userId":1,"task":{"id":")" + std::string(129, 'k') + R"("}})",
       "task.id"},
      {"status not boolean", R"({"action":"created","userId":1,"task":{"id":1,"status":"done"}})", "task.status"},
      {"completed not boolean", R"({"event_type":"task.updated","user_id":1,"task":{"id":1,"completed":1}})",
       "task.completed"},
      {"updatedAt not a timestamp", R"({"action":"updated","userId":1,"task":{"id":1,"updatedAt":"yesterday"}})",
       "task.updatedAt"},
      {"updatedAt without a zone", R"({"action":"updated","userId":1,"task":{"id":1,"updatedAt":"2026-01-03T10:30:00"}})",
       "task.updatedAt"},
      {"updatedAt month 13", R"({"action":"updated","userId":1,"task":{"id":1,"updatedAt":"2026-13-03T10:30:00Z"}})",
       "task.updatedAt"},
      {"updatedAt February 30", R"({"action":"updated","userId":1,"task":{"id":1,"updatedAt":"2026-02-30T10:30:00Z"}})",
       "task.updatedAt"},
      {"updatedAt a number", R"({"action":"updated","userId":1,"task":{"id":1,"updatedAt":1234567890}})",
       "task.updatedAt"},
      {"updated_at a number", R"({"event_type":"task.updated","user_id":1,"task":{"id":1,"updated_at":1234567890}})",
       "task.updated_at"},
      {"sharedWith not an array", R"({"action":"created","userId":1,"sharedWith":"2","task":{"id":1}})", "sharedWith"},
      {"sharedWith with a bad id", R"({"action":"created","userId":1,"sharedWith":[2,"a b"],"task":{"id":1}})",
       "sharedWith[1]"},
      {"sharedWith with a negative id", R"({"action":"created","userId":1,"sharedWith":[-2],"task":{"id":1}})",
       "sharedWith[0]"},
      {"sharedWith over 1000 users",
       R"({"action":"created","userId":1,"sharedWith":)" + array_of(1001, "2") + R"(,"task":{"id":1}})", "sharedWith"},
      {"seed-001 event_type", R"({"event_type":"task_created","user_id":1,"task":{"id":1}})", "event_type"},
      {"unknown seed-004 event_type", R"({"event_type":"task.moved","user_id":1,"task":{"id":1}})", "event_type"},
      {"numeric event_type", R"({"event_type":3,"user_id":1,"task":{"id":1}})", "event_type"},
      {"seed-004 without user_id", R"({"event_type":"task.created","task":{"id":1}})", "user_id"},
      {"CloudEvent of another version", R"({"specversion":"0.3","type":"t","source":"s","id":"i","data":{}})",
       "specversion"},
      {"CloudEvent without data", R"({"specversion":"1.0","type":"t","source":"s","id":"i"})", "data"},
      {"CloudEvent with data_base64",
       R"({"specversion":"1.0","type":"t","source":"s","id":"i","data_base64":"e30="})", "data"},
      {"CloudEvent data a string",
       R"({"specversion":"1.0","type":"t","source":"s","id":"i","data":"{\"action\":\"created\"}"})", "data"},
      {"CloudEvent data without userId",
       R"({"specversion":"1.0","type":"t","source":"s","id":"i","data":{"action":"created","task":{"id":1}}})",
       "data.userId"},
      {"CloudEvent data with a bad task id",
       R"({"specversion":"1.0","type":"t","source":"s","id":"i","data":{"action":"created","userId":1,"task":{"id":-5}}})",
       "data.task.id"},
      {"CloudEvent data without any action",
       R"({"specversion":"1.0","type":"com.dapr.event.sent","source":"s","id":"i","data":{"userId":1,"task":{"id":1}}})",
       "data.action"},
      {"CloudEvent typed task.created without an owner",
       R"({"specversion":"1.0","type":"task.created","source":"s","id":"i","data":{"task":{"id":1}}})", "data.userId"},
      {"second array item with a bad task id", "[" + std::string(good_native) +
                                                    R"(,{"action":"created","userId":1,"task":{"id":-1}}])",
       "[1].task.id"},
      {"second array item a CloudEvent without userId",
       "[" + std::string(good_native) +
           R"(,{"specversion":"1.0","type":"t","source":"s","id":"i","data":{"action":"created","task":{"id":1}}}])",
       "[1].data.userId"},
      {"third array item with a bad sharedWith entry",
       "[" + std::string(good_native) + "," + std::string(good_native) +
           R"(,{"action":"created","userId":1,"sharedWith":[true],"task":{"id":1}}])",
       "[2].sharedWith[0]"},
  };
  for (const auto& r : rejections) {
    CAPTURE(r.why);
    const auto errors = parse_bad(r.body);
    CHECK(fields_of(errors) == r.field);
    CHECK_FALSE(errors.front().message.empty());
  }
}

TEST_CASE("the CloudEvent's own type is named when it carries an unknown action") {
  // The unknown action comes from the envelope's `type`, not from inside `data`: the 400 must
  // name the field the producer has to fix (SPEC §3).
  const std::string cloud_event =
      R"({"specversion":"1.0","type":"task.archived","source":"s","id":"i","data":{"user_id":"u","task":{"id":1}}})";
  CHECK(fields_of(parse_bad(cloud_event)) == "type");
  CHECK(fields_of(parse_bad("[" + std::string(good_native) + "," + cloud_event + "]")) == "[1].type");
}

TEST_CASE("data_base64 is refused with a message that says so") {
  const auto errors = parse_bad(R"({"specversion":"1.0","type":"t","source":"s","id":"i","data_base64":"e30="})");
  REQUIRE(errors.size() == 1);
  CHECK(errors.front().message.find("data_base64") != std::string::npos);
}

TEST_CASE("one bad event rejects the whole array and every bad field is reported") {
  const auto body = "[" + std::string(good_native) + R"(,{"action":"created","userId":"a b","task":{"id":1}},)" +
                    std::string(good_native) + R"(,{"action":"created","userId":1,"task":{"id":1,"status":"x"}}])";
  const auto errors = parse_bad(body);
  CHECK(fields_of(errors) == "[1].userId, [3].task.status");
}

TEST_CASE("several bad fields of one event are all reported") {
  const auto errors =
      parse_bad(R"({"action":"created","userId":"a b","sharedWith":[1,{}],"task":{"id":1,"status":1,"updatedAt":"x"}})");
  CHECK(fields_of(errors) == "userId, sharedWith[1], task.status, task.updatedAt");
}

TEST_CASE("ingest limits: string field size") {
  SUBCASE("the default cap is 16 KiB per string field") {
    const std::string at_cap(16 * 1024, 'x');
    const auto ok = parse_one(R"({"action":"created","userId":1,"task":{"id":1,"title":")" + at_cap + R"("}})");
    CHECK(string_of(ok.task, "title").size() == at_cap.size());
    const auto errors =
        parse_bad(R"({"action":"created","userId":1,"task":{"id":1,"title":")" + at_cap + R"(x"}})");
    CHECK(fields_of(errors) == "task.title");
  }
  SUBCASE("a custom cap, in an array") {
    ingest_limits limits;
    limits.max_string_bytes = 8;
    CHECK(parse_ok(R"([{"action":"created","userId":1,"task":{"id":1,"description":"12345678"}}])", limits).size() == 1);
    const auto errors =
        parse_bad(R"([{"action":"created","userId":1,"task":{"id":1,"description":"123456789"}}])", limits);
    CHECK(fields_of(errors) == "[0].task.description");
  }
}

TEST_CASE("ingest limits: number of events") {
  ingest_limits limits;
  limits.max_events = 3;
  CHECK(parse_ok(array_of(3, good_native), limits).size() == 3);
  const auto errors = parse_bad(array_of(4, good_native), limits);
  CHECK(fields_of(errors) == "body");
  SUBCASE("the default is 1000") {
    CHECK(parse_ok(array_of(1000, good_native)).size() == 1000);
    CHECK(fields_of(parse_bad(array_of(1001, good_native))) == "body");
  }
}

TEST_CASE("parse_ingest is a pure function of the body and now") {
  const auto later = fixed_now + std::chrono::hours{1};
  const auto body = R"({"action":"created","userId":1,"task":{"id":1}})";
  auto a = parse_ingest(body, fixed_now);
  auto b = parse_ingest(body, later);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->front().updated_at == fixed_now);
  CHECK(b->front().updated_at == later);
  CHECK(string_of(b->front().task, "updatedAt") == "2026-01-03T11:30:00.123Z");
}

}  // namespace protocol_ingest_test
