// core_session_core_test.cpp — the session's decisions with no socket: every way a session ends
// (client close, server close, peer vanishes, slow consumer, token expiry, drain, write failure),
// in the order of its actions, with a manual clock; the messages of the contract; SSE's rules.
#include "core/session_core.hpp"
#include "protocol/jwt.hpp"
#include "support/manual_clock.hpp"
#include "support/test_server.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

namespace core_session_core_test {  // unity builds compile several test files as one unit

using namespace dh;
using core::action;
using kind = core::action::kind;
using writer_end = core::session_core::writer_end;
using namespace std::chrono_literals;

namespace {

std::vector<kind> kinds(const core::actions& todo) {
  std::vector<kind> out;
  for (const auto& a : todo) out.push_back(a.what);
  return out;
}

const action* find(const core::actions& todo, kind k) {
  for (const auto& a : todo)
    if (a.what == k) return &a;
  return nullptr;
}

std::string type_of(const action& a) {
  REQUIRE(a.data);
  return std::string(boost::json::parse(*a.data).as_object().at("type").as_string());
}

std::string token_for(const test::manual_clock& clock, const std::string& user, std::chrono::seconds ttl) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
  boost::json::object claims{{"sub", user}, {"iat", now}, {"exp", now + ttl.count()}};
  return *protocol::mint_token(protocol::jwt_alg::hs256, test::test_secret, claims);
}

// A session of user "1" whose token lives an hour (plus the verifier's 30 s leeway).
struct fixture {
  explicit fixture(core::transport kind = core::transport::websocket, std::optional<std::uint64_t> resume = {})
      : jwt(*protocol::jwt_verifier::create(test::hs256_settings())),
        core(kind, settings(), identity(resume), clock, jwt, metrics) {}

  static core::session_settings settings() {
    core::session_settings s;
    s.liveness.ping_interval = 30s;
    s.liveness.idle_timeout = 3h;  // the tests that move time far keep the session heard from
    s.close_grace = 5s;
    s.rate_limit.per_second = 10;
    return s;
  }
  core::session_identity identity(std::optional<std::uint64_t> resume) const {
    core::session_identity who;
    who.user_id = "1";
    who.hub_id = 7;
    who.session_id = "00000000000000a7";
    who.token_expires_at = clock.wall_now() + 1h;
    who.resume_from = resume;
    return who;
  }

  test::manual_clock clock;
  core::metrics metrics;
  protocol::jwt_verifier jwt;
  core::session_core core;
};

const std::vector<kind> slot_freed{kind::release_slot, kind::leave_hub};

}  // namespace

TEST_CASE("session core: start says connection_success and arms the first ping") {
  fixture f;
  const auto todo = f.core.start();
  REQUIRE(kinds(todo) == std::vector{kind::send, kind::arm_timer});
  CHECK(type_of(todo[0]) == "connection_success");
  CHECK(todo[1].at == f.clock.steady_now() + 30s);
  CHECK(f.core.current() == core::session_core::state::open);
}

TEST_CASE("session core: the client closes") {
  fixture f;
  f.core.start();
  CHECK(kinds(f.core.on_peer_close(1000)) == slot_freed);  // a reload finds the slot free at once
  CHECK(f.core.current() == core::session_core::state::ending);
  CHECK(kinds(f.core.on_read_end()) == std::vector{kind::stop_writer, kind::arm_timer});  // the writer's grace
  CHECK(kinds(f.core.on_writer_end(writer_end::stopped)) == std::vector{kind::stop_writer, kind::log_end});
  CHECK(f.core.current() == core::session_core::state::ended);
  const auto end = f.core.summary();
  CHECK(end.code == 1000);
  CHECK_FALSE(end.by_server);
}

TEST_CASE("session core: a close frame without a code ends as 1005, no close frame as 1006") {
  fixture with_frame;
  with_frame.core.on_peer_close(0);
  with_frame.core.on_read_end();
  with_frame.core.on_writer_end(writer_end::stopped);
  CHECK(with_frame.core.summary().code == 1005);

  fixture vanished;  // the peer vanishes: the read ends with no close frame
  CHECK(kinds(vanished.core.on_read_end()) ==
        std::vector{kind::release_slot, kind::leave_hub, kind::stop_writer, kind::arm_timer});
  CHECK(kinds(vanished.core.on_writer_end(writer_end::stopped)) == std::vector{kind::stop_writer, kind::log_end});
  CHECK(vanished.core.summary().code == 1006);
}

TEST_CASE("session core: the server closes on a bad message, then the peer answers") {
  fixture f;
  f.core.start();
  const auto todo = f.core.on_message("{not json");
  REQUIRE(kinds(todo) == std::vector{kind::close, kind::release_slot, kind::leave_hub, kind::arm_timer});
  CHECK(todo[0].code == 1008);
  CHECK(todo[0].reason == "INVALID_MESSAGE");
  CHECK(type_of(todo[0]) == "error");
  CHECK(todo[3].at == f.clock.steady_now() + 5s);  // the close grace
  CHECK(f.core.current() == core::session_core::state::closing);
  // The queue confirms the request; later messages only let the close handshake finish.
  CHECK(f.core.on_close_request(1008, "INVALID_MESSAGE").empty());
  CHECK(f.core.on_message(R"({"type":"ping"})").empty());
  CHECK(kinds(f.core.on_writer_end(writer_end::closed)) == std::vector{kind::stop_writer, kind::arm_timer});
  CHECK(kinds(f.core.on_read_end()) == std::vector{kind::stop_writer, kind::log_end});
  const auto end = f.core.summary();
  CHECK(end.code == 1008);
  CHECK(end.by_server);
  CHECK(end.close_completed);
  CHECK(todo[0].error == protocol::errc::invalid_message);  // counted by the adapter once queued
}

TEST_CASE("session core: a slow consumer that stops reading is dropped when the grace runs out") {
  fixture f;
  f.core.start();
  // The hub asked through the queue.
  const auto todo = f.core.on_close_request(4013, "SLOW_CONSUMER");
  CHECK(kinds(todo) == std::vector{kind::release_slot, kind::leave_hub, kind::arm_timer});
  f.clock.advance(4s);
  CHECK(kinds(f.core.on_timer()) == std::vector{kind::arm_timer});  // early: look again at the deadline
  f.clock.advance(1s);
  const auto late = f.core.on_timer();
  REQUIRE(kinds(late) == std::vector{kind::drop_socket});
  CHECK(late[0].detail.find("4013") != std::string::npos);
  CHECK(f.core.on_timer().empty());
  CHECK(kinds(f.core.on_read_end()) == std::vector{kind::stop_writer, kind::arm_timer});
  // The dropped socket fails the stuck write.
  CHECK(kinds(f.core.on_writer_end(writer_end::write_failed)) ==
        std::vector{kind::drop_socket, kind::stop_writer, kind::log_end});
  const auto end = f.core.summary();
  CHECK(end.code == 4013);
  CHECK(end.reason == "SLOW_CONSUMER");
  CHECK_FALSE(end.close_completed);
}

TEST_CASE("session core: a full queue closes the session as SLOW_CONSUMER") {
  fixture f;
  const auto todo = f.core.on_queue_full();
  REQUIRE_FALSE(todo.empty());
  CHECK(todo[0].what == kind::close);
  CHECK(todo[0].code == 4013);
}

TEST_CASE("session core: the token expires at exp plus leeway") {
  fixture f;
  f.core.start();
  // Pings every 30 s (answered) until then.
  for (int i = 0; i < 121; ++i) {
    f.clock.advance(30s);
    const auto todo = f.core.on_timer();
    if (find(todo, kind::close)) {
      CHECK(todo[0].code == 4002);
      CHECK(todo[0].reason == "AUTH_EXPIRED");
      CHECK(f.clock.steady_now() >= core::steady_time{} + 24h + 1h + 30s);
      return;
    }
    REQUIRE(kinds(todo) == std::vector{kind::ping, kind::arm_timer});
    f.core.on_pong();
  }
  FAIL("the token never expired");
}

TEST_CASE("session core: a refreshed token moves the expiry; one for another user closes") {
  fixture f;
  f.core.start();
  const auto refresh = R"({"type":"refresh_token","payload":{"token":")" + token_for(f.clock, "1", 2h) + R"("}})";
  const auto todo = f.core.on_message(refresh);
  REQUIRE(kinds(todo) == std::vector{kind::arm_timer});
  f.clock.advance(1h + 31s);
  CHECK_FALSE(find(f.core.on_timer(), kind::close));  // the old expiry passed: nothing

  const auto other = R"({"type":"refresh_token","payload":{"token":")" + token_for(f.clock, "2", 2h) + R"("}})";
  const auto refused = f.core.on_message(other);
  REQUIRE_FALSE(refused.empty());
  CHECK(refused[0].what == kind::close);
  CHECK(refused[0].code == 4001);
}

TEST_CASE("session core: two unanswered pings close as IDLE_TIMEOUT") {
  fixture f;
  f.core.start();
  f.clock.advance(30s);
  CHECK(find(f.core.on_timer(), kind::ping));
  f.clock.advance(30s);
  CHECK(find(f.core.on_timer(), kind::ping));
  f.clock.advance(30s);
  const auto todo = f.core.on_timer();
  REQUIRE_FALSE(todo.empty());
  CHECK(todo[0].what == kind::close);
  CHECK(todo[0].code == 4000);
}

TEST_CASE("session core: a drain closes 1001; a close already requested by the hub wins over our own") {
  fixture drained;
  drained.core.start();
  drained.core.on_close_request(1001, "server shutting down");
  CHECK(drained.core.on_message("garbage").empty());  // no second close
  drained.core.on_writer_end(writer_end::closed);
  drained.core.on_read_end();
  CHECK(drained.core.summary().code == 1001);

  fixture raced;  // our error, but the hub's slow-consumer request reached the queue first
  raced.core.start();
  raced.core.on_message("garbage");
  raced.core.on_close_request(4013, "SLOW_CONSUMER");
  raced.core.on_writer_end(writer_end::stopped);
  raced.core.on_read_end();
  CHECK(raced.core.summary().code == 4013);
}

TEST_CASE("session core: a failed write while open drops the socket and frees the slot") {
  fixture f;
  f.core.start();
  CHECK(kinds(f.core.on_writer_end(writer_end::write_failed)) ==
        std::vector{kind::release_slot, kind::leave_hub, kind::drop_socket, kind::stop_writer, kind::arm_timer});
  CHECK(kinds(f.core.on_read_end()) == std::vector{kind::stop_writer, kind::log_end});
  CHECK(f.core.summary().code == 1006);
}

TEST_CASE("session core: a reader that ended leaves the writer the grace, then the socket drops") {
  fixture f;
  f.core.start();
  // The peer half-closed; our writer is stuck on a peer that does not read.
  const auto todo = f.core.on_read_end();
  REQUIRE(find(todo, kind::arm_timer));
  CHECK(find(todo, kind::arm_timer)->at == f.clock.steady_now() + 5s);
  f.clock.advance(5s);
  CHECK(kinds(f.core.on_timer()) == std::vector{kind::drop_socket});
  CHECK(kinds(f.core.on_writer_end(writer_end::write_failed)) ==
        std::vector{kind::drop_socket, kind::stop_writer, kind::log_end});
}

TEST_CASE("session core: the contract's messages") {
  fixture f({}, 41);
  f.core.start();
  SUBCASE("ping is answered with pong") {
    const auto todo = f.core.on_message(R"({"type":"ping","payload":{"n":1}})");
    REQUIRE(kinds(todo) == std::vector{kind::send});
    CHECK(type_of(todo[0]) == "pong");
  }
  SUBCASE("subscribe: subscribed, then the hub replays after lastEventId from the URL, once") {
    auto todo = f.core.on_message(R"({"type":"subscribe_dashboard","payload":{"userId":"1","batch":true}})");
    REQUIRE(kinds(todo) == std::vector{kind::send, kind::subscribe});
    CHECK(type_of(todo[0]) == "subscribed");
    CHECK(todo[1].batch);
    CHECK(todo[1].event_id == 41u);
    todo = f.core.on_message(R"({"type":"subscribe_dashboard","payload":{"userId":"1"}})");
    CHECK_FALSE(todo[1].event_id.has_value());
  }
  SUBCASE("another user's dashboard: SUBSCRIPTION_FAILED, the session stays open") {
    const auto todo = f.core.on_message(R"({"type":"subscribe_dashboard","payload":{"userId":"2"}})");
    REQUIRE(kinds(todo) == std::vector{kind::send});
    CHECK(type_of(todo[0]) == "error");
    CHECK(f.core.current() == core::session_core::state::open);
  }
  SUBCASE("unsubscribe, ack") {
    CHECK(kinds(f.core.on_message(R"({"type":"unsubscribe_dashboard","payload":{"userId":"1"}})")) ==
          std::vector{kind::unsubscribe, kind::send});
    const auto todo = f.core.on_message(R"({"type":"ack","payload":{"ids":["3","9","5"]}})");
    REQUIRE(kinds(todo) == std::vector{kind::ack});
    CHECK(todo[0].event_id == 9u);
  }
  SUBCASE("a frame too big or not text closes with its code") {
    const auto todo = f.core.on_bad_frame({protocol::errc::message_too_big, "too big", {}});
    CHECK(todo[0].code == 1009);
  }
}

TEST_CASE("session core: the rate limit drops, then closes") {
  fixture f;
  f.core.start();
  int dropped = 0;
  for (int i = 0; i < 40; ++i) {
    const auto todo = f.core.on_message(R"({"type":"ping"})");
    if (const auto* close = find(todo, kind::close)) {
      CHECK(close->code == 4029);
      CHECK(dropped > 0);
      return;
    }
    if (type_of(todo[0]) == "error") ++dropped;
  }
  FAIL("the limiter never closed");
}

TEST_CASE("session core: SSE subscribes from the start and never idles out") {
  fixture f(core::transport::sse, 12);
  const auto todo = f.core.start();
  REQUIRE(kinds(todo) == std::vector{kind::send, kind::subscribe, kind::arm_timer});
  CHECK(type_of(todo[0]) == "connection_success");
  CHECK(todo[1].event_id == 12u);
  // Heartbeats go out every interval and nobody answers them; only the token ends the stream.
  for (int i = 0; i < 100; ++i) {
    f.clock.advance(30s);
    CHECK(kinds(f.core.on_timer()) == std::vector{kind::ping, kind::arm_timer});
  }
  f.clock.advance(20min);
  const auto expired = f.core.on_timer();
  REQUIRE_FALSE(expired.empty());
  CHECK(expired[0].code == 4002);
}

}  // namespace core_session_core_test
