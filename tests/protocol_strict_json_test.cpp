// protocol_strict_json_test.cpp — strict JSON input (SPEC §2, issue 9 items 2 and 4): duplicate
// keys and numbers outside a double's range are refused, with the member's path, by the parser
// itself and by the two readers built on it (client messages and ingest bodies).
#include "protocol/ingest.hpp"
#include "protocol/messages.hpp"
#include "protocol/strict_json.hpp"

#include "support/task_events.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace protocol_strict_json_test {  // unity builds compile several test files as one unit

using namespace dh::protocol;

namespace {

json_refusal refusal_of(std::string_view text) {
  INFO("json: " << text);
  auto r = parse_strict_json(text);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

// The single field error of a refused ingest body.
field_error ingest_error(std::string_view body) {
  INFO("body: " << body);
  auto r = parse_ingest(body, dh::test::contract_time);
  REQUIRE_FALSE(r.has_value());
  REQUIRE(r.error().size() == 1);
  return r.error()[0];
}

failure message_error(std::string_view text) {
  INFO("message: " << text);
  auto r = decode_client_message(text);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("strict JSON accepts what Boost.JSON accepts, values intact") {
  auto v = parse_strict_json(R"({"a":[1,-2,3.5,"x",true,null,{"b":{}}],"c":18446744073709551615,"d":1e-400})");
  REQUIRE(v.has_value());
  const auto& o = v->as_object();
  CHECK(o.at("a").as_array().size() == 7);
  CHECK(o.at("c").as_uint64() == 18446744073709551615ull);
  CHECK(o.at("d").as_double() == 0.0);  // underflow is a number, just a small one
  CHECK(parse_strict_json(R"([{"k":1},{"k":2}])").has_value());  // the same key in sibling objects
  CHECK(parse_strict_json(R"({"k":{"k":{"k":1}}})").has_value());  // ...and in nested ones
}

TEST_CASE("strict JSON refuses duplicate keys, naming the member") {
  CHECK(refusal_of(R"({"a":1,"a":2})").path == "a");
  CHECK(refusal_of(R"({"a":1,"a":2})").message == "is a duplicate key");
  CHECK(refusal_of(R"({"x":{"y":1,"z":[0,{"q":1,"q":1}]}})").path == "x.z[1].q");
  CHECK(refusal_of(R"([{"a":1},{"b":1,"b":2}])").path == "[1].b");
  // A key split across the parser's parts ("\u0061" is "a") is compared whole.
  CHECK(refusal_of(R"({"a":1,"\u0061":2})").path == "a");
}

TEST_CASE("strict JSON refuses numbers outside a double's range, naming the member") {
  CHECK(refusal_of(R"({"priority":1e400})").path == "priority");
  CHECK(refusal_of(R"({"priority":1e400})").message == "is outside the range of a double");
  CHECK(refusal_of(R"({"p":-1e400})").path == "p");
  CHECK(refusal_of(R"([0,[1,2e999]])").path == "[1][1]");
  CHECK(refusal_of("1e400").path.empty());
}

TEST_CASE("strict JSON reports syntax errors without a path") {
  const auto r = refusal_of("{oops");
  CHECK(r.path.empty());
  CHECK_FALSE(r.message.empty());
  CHECK(refusal_of(R"({"a":1} x)").path.empty());  // extra data
  CHECK(refusal_of(R"({"a":)").path.empty());      // incomplete
}

TEST_CASE("ingest refuses a non-finite number with 400 naming the field (issue 9, item 2)") {
  const auto one = ingest_error(R"({"action":"created","userId":1,"task":{"id":1,"priority":1e400}})");
  CHECK(one.field == "task.priority");
  CHECK(one.message == "is outside the range of a double");
  const auto in_array = ingest_error(
      R"([{"action":"created","userId":1,"task":{"id":1}},{"action":"created","userId":1,"task":{"id":2,"x":-1e999}}])");
  CHECK(in_array.field == "[1].task.x");
}

TEST_CASE("ingest refuses duplicate keys naming the field (issue 9, item 4)") {
  const auto owner = ingest_error(R"({"action":"created","userId":1,"userId":2,"task":{"id":1}})");
  CHECK(owner.field == "userId");
  CHECK(owner.message == "is a duplicate key");
  CHECK(ingest_error(R"({"action":"created","userId":1,"task":{"id":1,"id":2}})").field == "task.id");
  CHECK(ingest_error(R"({"specversion":"1.0","type":"t","source":"s","id":"1","data":{"action":"created",)"
                     R"("userId":1,"task":{"id":1}},"data":{}})")
            .field == "data");
}

TEST_CASE("client messages with duplicate keys or non-finite numbers are INVALID_MESSAGE") {
  const auto dup_type = message_error(R"({"type":"ping","type":"subscribe_dashboard","payload":{"userId":1}})");
  CHECK(dup_type.code == errc::invalid_message);
  CHECK(dup_type.message == "type is a duplicate key");
  CHECK(message_error(R"({"type":"subscribe_dashboard","payload":{"userId":1,"userId":2}})").message ==
        "payload.userId is a duplicate key");
  const auto infinite = message_error(R"({"type":"ping","payload":{"x":1e400}})");
  CHECK(infinite.code == errc::invalid_message);
  CHECK(infinite.message == "payload.x is outside the range of a double");
  CHECK(message_error("{oops").message.starts_with("message is not valid JSON: "));
}

TEST_CASE("strict JSON finds a duplicate among many keys, and takes many distinct ones") {
  std::string many = "{";
  for (int i = 0; i < 1000; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  auto distinct = many;
  distinct.back() = '}';
  CHECK(parse_strict_json(distinct).has_value());
  many += "\"k500\":0}";
  const auto r = refusal_of(many);
  CHECK(r.path == "k500");
  // Keys are reused between sibling objects without leaking from one into the next.
  CHECK(parse_strict_json(R"([{"a":1,"b":2},{"b":1,"a":2},{"c":{"a":1}}])").has_value());
  CHECK(refusal_of(R"([{"a":1,"b":2},{"b":1,"b":2}])").path == "[1].b");
}

}  // namespace protocol_strict_json_test
