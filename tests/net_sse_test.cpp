// net_sse_test.cpp — the contract over Server-Sent Events, in process over real sockets: the
// stream's head and events, resume by Last-Event-ID, plain HTTP refusals, slots shared with
// WebSocket sessions, token expiry, drain, heartbeats, a reader that stops reading, hostile requests.
#include "support/sessions.hpp"
#include "support/sse_client.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <poll.h>

namespace net_sse_test {  // unity builds compile several test files as one unit

using namespace dh::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string sse_target(const std::string& user, const std::string& token) { return "/sse/dashboard/" + user + "?token=" + token; }

// Opens a stream for `user` and reads connection_success and the first dashboard_update.
void open_stream(sse_client& c, const test_server& srv, const std::string& user, const std::string& query = {},
                 const std::map<std::string, std::string>& headers = {}) {
  REQUIRE(c.connect(srv.port(), sse_target(user, make_token(user)) + query, headers) == 200);
  REQUIRE(type_of(c.next_json()) == "connection_success");
}

std::vector<sse_event> events_until_dashboard(sse_client& c) {
  std::vector<sse_event> seen;
  for (;;) {
    auto e = c.next();
    REQUIRE(e.has_value());
    seen.push_back(*e);
    if (e->event == "dashboard_update") return seen;
  }
}


}  // namespace

TEST_CASE("SSE: the stream's head, then connection_success, the dashboard and live updates with ids") {
  test_server srv;
  sse_client c;
  REQUIRE(c.connect(srv.port(), sse_target("1", make_token("1"))) == 200);
  CHECK(c.header("Content-Type") == "text/event-stream");
  CHECK(c.header("Cache-Control") == "no-cache");
  CHECK(c.header("X-Accel-Buffering") == "no");
  auto hello = c.next_json();
  CHECK(type_of(hello) == "connection_success");
  CHECK(hello.at("payload").at("userId") == json::value(1));
  CHECK(c.retry().has_value());
  auto dashboard = c.next();
  REQUIRE(dashboard.has_value());
  CHECK(dashboard->event == "dashboard_update");
  CHECK_FALSE(dashboard->id.has_value());  // only messages with event ids carry `id:`

  REQUIRE(post_events(srv, task_event("created", 1, 5)).status == 202);
  auto update = c.next();
  REQUIRE(update.has_value());
  CHECK(update->event == "task_update");
  const auto message = json::parse(update->data).as_object();
  REQUIRE(update->id.has_value());
  CHECK(json::value(*update->id) == message.at("id"));
  CHECK(message.at("payload").at("taskId") == json::value(5));
}

TEST_CASE("SSE: Last-Event-ID resumes after it, and wins over ?lastEventId=") {
  test_server srv;
  for (int i = 1; i <= 4; ++i) REQUIRE(post_events(srv, task_event("created", 1, i)).status == 202);
  sse_client c;
  REQUIRE(c.connect(srv.port(), sse_target("1", make_token("1")) + "&lastEventId=" + srv.event_id(1),
                    {{"Last-Event-ID", srv.event_id(2)}}) == 200);
  auto hello = c.next_json();
  CHECK(hello.at("payload").at("recovered") == json::value(true));
  const auto replay = events_until_dashboard(c);
  REQUIRE(replay.size() == 3);
  CHECK(replay[0].id == std::optional<std::string>(srv.event_id(3)));
  CHECK(replay[1].id == std::optional<std::string>(srv.event_id(4)));
  CHECK(replay[2].event == "dashboard_update");

  sse_client by_query;
  REQUIRE(by_query.connect(srv.port(), sse_target("1", make_token("1")) + "&lastEventId=" + srv.event_id(3)) == 200);
  by_query.next_json();
  const auto rest = events_until_dashboard(by_query);
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].id == std::optional<std::string>(srv.event_id(4)));
}

TEST_CASE("SSE: refusals before the stream are plain HTTP with the error JSON") {
  test_server srv;
  auto refused = [&](const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    sse_client c;
    const int status = c.connect(srv.port(), target, headers);
    std::string code;
    if (status != 0 && status != 405 && status != 431 && status != 503)
      code = std::string(json::parse(c.body()).at("payload").at("code").as_string());
    return std::pair{status, code};
  };
  CHECK(refused("/sse/dashboard/1") == std::pair{401, std::string("AUTH_INVALID")});
  CHECK(refused("/sse/dashboard/1?token=not-a-jwt") == std::pair{401, std::string("AUTH_INVALID")});
  CHECK(refused(sse_target("1", make_token("1", -1h))) == std::pair{401, std::string("AUTH_EXPIRED")});
  CHECK(refused(sse_target("1", make_token("2"))) == std::pair{401, std::string("AUTH_INVALID")});
  CHECK(refused(sse_target("bad%21id", make_token("1"))) == std::pair{404, std::string("USER_NOT_FOUND")});
  // The token as EventSource cannot send it, but fetch-based clients can: Authorization: Bearer.
  sse_client bearer;
  CHECK(bearer.connect(srv.port(), "/sse/dashboard/1", {{"Authorization", "Bearer " + make_token("1")}}) == 200);

  SUBCASE("hostile resume points") {
    CHECK(refused(sse_target("1", make_token("1")), {{"Last-Event-ID", "12abc"}}).second == "INVALID_MESSAGE");
    CHECK(refused(sse_target("1", make_token("1")), {{"Last-Event-ID", std::string(4000, '9')}}).second ==
          "INVALID_MESSAGE");
    CHECK(refused(sse_target("1", make_token("1")), {{"Last-Event-ID", "-1"}}).second == "INVALID_MESSAGE");
    CHECK(refused(sse_target("1", make_token("1")) + "&lastEventId=x").second == "INVALID_MESSAGE");
    // Two of them: which would the browser have meant?
    sse_client twice;
    const int status = twice.connect(srv.port(), sse_target("1", make_token("1")),
                                     {{"Last-Event-ID", "1"}, {"last-event-id", "2"}});
    CHECK(status == 400);
    // One far past the header limit never reaches the session.
    CHECK(refused(sse_target("1", make_token("1")), {{"Last-Event-ID", std::string(64 * 1024, '1')}}).first == 431);
  }
  SUBCASE("only GET opens a stream") {
    auto reply = http_post(srv.port(), sse_target("1", make_token("1")), "{}");
    CHECK(reply.status == 405);
  }
}

TEST_CASE("SSE: a stream takes one of the user's slots, shared with WebSocket sessions") {
  test_server srv;  // 5 per user
  std::vector<std::unique_ptr<ws_client>> sockets;
  for (int i = 0; i < 3; ++i) {
    sockets.push_back(std::make_unique<ws_client>());
    open_session(*sockets.back(), srv, "1");
  }
  sse_client a, b;
  open_stream(a, srv, "1");
  open_stream(b, srv, "1");
  sse_client sixth;
  REQUIRE(sixth.connect(srv.port(), sse_target("1", make_token("1"))) == 429);
  CHECK(json::parse(sixth.body()).at("payload").at("code") == json::value("CONNECTION_LIMIT"));
  ws_client sixth_ws;
  REQUIRE(sixth_ws.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  CHECK(error_code_of(sixth_ws.read_json()) == "CONNECTION_LIMIT");
  // A stream that ends frees its slot for the next connection.
  a.close();
  ws_client again;
  REQUIRE(again.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  CHECK(type_of(again.read_json()) == "connection_success");
}

TEST_CASE("SSE: token expiry sends an error event, then the stream ends") {
  test_server srv(default_settings(), hs256_settings(0s));
  sse_client c;
  REQUIRE(c.connect(srv.port(), sse_target("1", make_token("1", 1s))) == 200);
  CHECK(type_of(c.next_json()) == "connection_success");
  for (;;) {
    auto e = c.next(10s);
    REQUIRE(e.has_value());
    if (e->event != "error") continue;
    CHECK(json::parse(e->data).at("payload").at("code") == json::value("AUTH_EXPIRED"));
    break;
  }
  CHECK(c.ended());
  CHECK(log_shows(srv, "closed code=4002 reason=AUTH_EXPIRED by=server"));
}

TEST_CASE("SSE: a drain says connection_status disconnected, then ends the stream") {
  auto srv = std::make_unique<test_server>();
  sse_client c;
  open_stream(c, *srv, "1");
  srv->server().shut_down();
  for (;;) {
    auto e = c.next(10s);
    REQUIRE(e.has_value());
    if (e->event != "connection_status") continue;
    CHECK(json::parse(e->data).at("payload").at("status") == json::value("disconnected"));
    break;
  }
  CHECK(c.ended());
}

TEST_CASE("SSE: heartbeats are comment lines, one each ping interval") {
  auto settings = default_settings();
  settings.liveness.ping_interval = 50ms;
  test_server srv(settings);
  sse_client c;
  open_stream(c, srv, "1");
  // Nothing else is sent: what the client sees next is heartbeats, and the stream stays open.
  // Read until two have come (10 s at most: a bound for failure, not a window to wait out).
  CHECK(type_of(c.next_json()) == "dashboard_update");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.comments() < 2 && std::chrono::steady_clock::now() < deadline) REQUIRE_FALSE(c.next(100ms).has_value());
  CHECK(c.comments() >= 2);
}

TEST_CASE("SSE: a reader that stops reading is cut as a slow consumer") {
  auto settings = default_settings();
  settings.outbox_max_bytes = 256 * 1024;
  settings.close_grace = 300ms;
  settings.max_ingest_bytes = 4 * 1024 * 1024;
  test_server srv(settings);
  sse_client sleeper;
  open_stream(sleeper, srv, "1");
  ws_client other;
  open_session(other, srv, "2");
  subscribe(other, {{"userId", 2}});
  CHECK(flood_until_cut(srv, "1", other, 120) > 0);
  // Which end the log shows, if not this one, says more than the check alone.
  const bool shown = log_shows(srv, "user=1 closed code=4013 reason=SLOW_CONSUMER");
  if (!shown) MESSAGE("server log: " << srv.log_text());
  CHECK(shown);
  CHECK(log_shows(srv, "transport=sse"));
}

TEST_CASE("SSE: the access log names the transport") {
  test_server srv;
  {
    sse_client c;
    open_stream(c, srv, "1");
  }
  CHECK(log_shows(srv, "user=1 closed code=1006 by=client"));
  CHECK(srv.log_text().find("transport=sse") != std::string::npos);
}

}  // namespace net_sse_test
