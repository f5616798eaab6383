// net_adversarial_test.cpp — regression tests for the defects adversarial testing found (issue 9):
// a slow client's memory, non-finite numbers and duplicate keys, request smuggling and the other
// RFC 9112 rules, Origin matching, the connection-slot race, resume ids past 2^63, and the close
// reason in the log. Each drives the in-process server over loopback as an attacker would.
#include "store/sqlite_store.hpp"
#include "support/sessions.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

namespace net_adversarial_test {  // unity builds compile several test files as one unit

using namespace dh::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

int count_of(std::string_view haystack, std::string_view needle) {
  int n = 0;
  for (auto at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

std::string ingest_request(const std::string& framing_headers, const std::string& body) {
  return "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(test_ingest_key) +
         "\r\n" + framing_headers + "\r\n" + body;
}

}  // namespace

// --- item 1: one slow client can hold gigabytes --------------------------------------------------

TEST_CASE("a batch client that never reads is cut at its byte budget, not after 1,024 frames") {
  auto settings = default_settings();
  settings.outbox_max_bytes = 512 * 1024;
  settings.close_grace = 30s;  // the cut must come from the budget, not from the grace
  settings.max_ingest_bytes = 4 * 1024 * 1024;
  test_server srv(settings);
  ws_client sleeper, other;
  open_session(sleeper, srv, "1");
  subscribe(sleeper, {{"userId", 1}, {"batch", true}});
  open_session(other, srv, "2");
  subscribe(other, {{"userId", 2}});
  // Loopback buffers take ~10 MB before the queue grows at all; 120 rounds are ~100 MB.
  const int rounds = flood_until_cut(srv, "1", other, 120);
  CHECK(rounds > 0);
  // Reading now drains the socket; the session then gets its error and close code.
  CHECK(sleeper.read_until_close(30s) == 4013);
}

// --- item 8: the reason a session ended always reaches the log --------------------------------------

TEST_CASE("a slow consumer whose close frame cannot be written is still logged as SLOW_CONSUMER") {
  auto settings = default_settings();
  settings.outbox_max_bytes = 256 * 1024;
  settings.close_grace = 300ms;
  settings.max_ingest_bytes = 4 * 1024 * 1024;
  test_server srv(settings);
  ws_client sleeper, other;
  open_session(sleeper, srv, "1");
  subscribe(sleeper, {{"userId", 1}});
  open_session(other, srv, "2");
  subscribe(other, {{"userId", 2}});
  REQUIRE(flood_until_cut(srv, "1", other, 120) > 0);
  // The sleeper never reads, so the close frame never leaves; the grace ends the socket.
  CHECK(log_shows(srv, "user=1 closed code=4013 reason=SLOW_CONSUMER (close handshake not completed)"));
  CHECK(srv.log_text().find("user=1 closed code=0") == std::string::npos);
}

// --- items 2 and 4: strict JSON in, strict JSON out -------------------------------------------------

TEST_CASE("ingest refuses 1e400 and duplicate keys with 400 naming the field, and applies nothing") {
  test_server srv;
  const auto infinite = http_post(srv.port(), "/api/v1/events",
                                  R"({"action":"created","userId":1,"task":{"id":1,"priority":1e400}})",
                                  {{"Authorization", std::string("Bearer ") + test_ingest_key}});
  CHECK(infinite.status == 400);
  CHECK(json::parse(infinite.body).at("fields").at(0).at("field") == json::value("task.priority"));
  const auto twice = http_post(srv.port(), "/api/v1/events",
                               R"({"action":"created","userId":1,"userId":2,"task":{"id":1}})",
                               {{"Authorization", std::string("Bearer ") + test_ingest_key}});
  CHECK(twice.status == 400);
  CHECK(json::parse(twice.body).at("fields").at(0).at("field") == json::value("userId"));
  const auto token = "Bearer " + make_token("2");
  const auto events = http_get(srv.port(), "/api/v1/users/2/events?since=0", {{"Authorization", token}});
  CHECK(json::parse(events.body).at("events").as_array().empty());
}

TEST_CASE("a ping carrying 1e400 is INVALID_MESSAGE, never an Infinity echoed back") {
  test_server srv;
  ws_client c;
  open_session(c, srv, "1");
  c.send_text(R"({"type":"ping","payload":{"x":1e400}})");
  expect_error_then_close(c, "INVALID_MESSAGE", 1008);
}

TEST_CASE("a message with two types is INVALID_MESSAGE, not the last type run") {
  test_server srv;
  ws_client c;
  open_session(c, srv, "1");
  c.send_text(R"({"type":"ping","type":"subscribe_dashboard","payload":{"userId":1}})");
  expect_error_then_close(c, "INVALID_MESSAGE", 1008);
}

// --- item 3: request smuggling and RFC 9112 ----------------------------------------------------------

TEST_CASE("a Transfer-Encoding not ending in chunked is 400 and the body is never run as a request") {
  test_server srv;
  const std::string smuggled = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (const std::string coding : {"xchunked", "chunked, identity", "gzip"}) {
    CAPTURE(coding);
    const auto reply = raw_exchange(srv.port(), ingest_request("Transfer-Encoding: " + coding + "\r\n", smuggled));
    CHECK(reply.starts_with("HTTP/1.1 400"));
    CHECK(count_of(reply, "HTTP/1.1 ") == 1);  // no second response: the smuggled GET never ran
  }
  const auto both = raw_exchange(
      srv.port(), ingest_request("Transfer-Encoding: gzip\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n",
                                 smuggled));
  CHECK(both.starts_with("HTTP/1.1 400"));
  CHECK(count_of(both, "HTTP/1.1 ") == 1);
}

TEST_CASE("HTTP/1.1 without Host, and obsolete line folding, are 400") {
  test_server srv;
  CHECK(raw_exchange(srv.port(), "GET /health HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400"));
  CHECK(raw_exchange(srv.port(), "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Folded: a\r\n b\r\n\r\n")
            .starts_with("HTTP/1.1 400"));
  CHECK(raw_exchange(srv.port(), "GET /health HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200"));  // 1.0 needs no Host
}

TEST_CASE("an oversize header section is 431 and an oversize target 414") {
  test_server srv;
  CHECK(raw_exchange(srv.port(), "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n")
            .starts_with("HTTP/1.1 431"));
  CHECK(raw_exchange(srv.port(), "GET /health?" + std::string(10000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n")
            .starts_with("HTTP/1.1 414"));
  CHECK(raw_exchange(srv.port(), "GET /" + std::string(20000, 'a')).starts_with("HTTP/1.1 414"));
}

TEST_CASE("Expect: 100-continue is answered before the body is sent") {
  test_server srv;
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), srv.port()});
  const std::string body = R"({"action":"created","userId":1,"task":{"id":1}})";
  asio::write(socket, asio::buffer(ingest_request(
                          "Content-Length: " + std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n", "")));
  // Nothing of the body has been sent: the server must speak first.
  std::string interim;
  pollfd ready{socket.native_handle(), POLLIN, 0};
  REQUIRE(::poll(&ready, 1, 5000) == 1);
  char buf[256];
  const auto n = ::recv(socket.native_handle(), buf, sizeof buf, 0);
  REQUIRE(n > 0);
  interim.assign(buf, static_cast<std::size_t>(n));
  CHECK(interim.starts_with("HTTP/1.1 100 Continue\r\n\r\n"));
  asio::write(socket, asio::buffer(body));
  const auto rest = interim.substr(std::string_view("HTTP/1.1 100 Continue\r\n\r\n").size()) +
                    read_until_closed(socket.native_handle());
  CHECK(rest.starts_with("HTTP/1.1 202"));
}

// --- item 5: Origin ---------------------------------------------------------------------------------

TEST_CASE("Origin is compared as RFC 6454 serialises it, and two Origin headers are refused") {
  auto settings = default_settings();
  settings.allowed_origins = {"https://app.example.com"};
  test_server srv(settings);
  const auto target = srv.ws_target("1", make_token("1"));
  for (const std::string origin : {"https://app.example.com", "HTTPS://APP.Example.COM", "https://app.example.com:443"}) {
    CAPTURE(origin);
    ws_client c;
    REQUIRE(c.connect(srv.port(), target, {{"Origin", origin}}));
    CHECK(type_of(c.read_json()) == "connection_success");
  }
  for (const std::string origin : {"https://app.example.com:8443", "http://app.example.com", "https://evil.example"}) {
    CAPTURE(origin);
    ws_client c;
    int status = 0;
    CHECK_FALSE(c.connect(srv.port(), target, {{"Origin", origin}}, &status));
    CHECK(status == 403);
  }
  const std::string good = "Origin: https://app.example.com\r\n", evil = "Origin: https://evil.example\r\n";
  CHECK(raw_exchange(srv.port(), upgrade_request(target, good + evil)).starts_with("HTTP/1.1 403"));
  CHECK(raw_exchange(srv.port(), upgrade_request(target, evil + good)).starts_with("HTTP/1.1 403"));

  // The allowed list is serialised the same way, whatever spelling it was configured in.
  auto spelled = default_settings();
  spelled.allowed_origins = {"HTTPS://App.Example.com:443"};
  test_server other(spelled);
  ws_client c;
  REQUIRE(c.connect(other.port(), other.ws_target("1", make_token("1")), {{"Origin", "https://app.example.com"}}));
  CHECK(type_of(c.read_json()) == "connection_success");
}

// --- item 6: the connection-slot race ------------------------------------------------------------------

TEST_CASE("a page reload at the connection limit is never refused") {
  test_server srv;  // 5 connections per user
  std::vector<std::unique_ptr<ws_client>> tabs;
  for (int i = 0; i < 5; ++i) {
    tabs.push_back(std::make_unique<ws_client>());
    open_session(*tabs.back(), srv, "1");
  }
  for (int reload = 0; reload < 100; ++reload) {
    CAPTURE(reload);
    auto& tab = tabs[reload % 5];
    tab->send_close_frame(1001);  // as a browser leaving the page: no wait for the server's reply
    auto fresh = std::make_unique<ws_client>();
    REQUIRE(fresh->connect(srv.port(), srv.ws_target("1", make_token("1"))));
    const auto hello = fresh->read_json();
    REQUIRE_MESSAGE(type_of(hello) == "connection_success", json::serialize(hello));
    tab = std::move(fresh);
  }
  // The limit still holds for a sixth.
  ws_client sixth;
  REQUIRE(sixth.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  expect_error_then_close(sixth, "CONNECTION_LIMIT", 4008);
}

// --- item 7: resume positions beyond 2^63 -----------------------------------------------------------------

TEST_CASE("a resume position past 2^63 replays nothing over REST or WebSocket") {
  // SQLite, where the id once arrived as a negative integer and selected the whole history.
  const temp_dir dir("dh-resume-");  // declared first: removed after the server and the store
  auto store = dh::store::sqlite_store::open(dir.path, {});
  test_server srv(default_settings(), hs256_settings(), store.get());
  json::array events;
  for (int i = 1; i <= 3; ++i) events.push_back(task_event("created", 1, i));
  REQUIRE(post_events(srv, events).status == 202);
  const auto auth = std::map<std::string, std::string>{{"Authorization", "Bearer " + make_token("1")}};
  for (const std::string since : {"9223372036854775808", "18446744073709551615"}) {
    CAPTURE(since);
    const auto page = http_get(srv.port(), "/api/v1/users/1/events?since=" + since, auth);
    REQUIRE(page.status == 200);
    CHECK(json::parse(page.body).at("events").as_array().empty());

    ws_client query_resume;
    REQUIRE(query_resume.connect(srv.port(), srv.ws_target("1", make_token("1")) + "&lastEventId=" + since));
    const auto hello = query_resume.read_json();
    CHECK(hello.at("payload").at("recovered") == json::value(false));
    CHECK(subscribe(query_resume, {{"userId", 1}}).size() == 1);  // only the dashboard_update

    ws_client payload_resume;
    open_session(payload_resume, srv, "1");
    CHECK(subscribe(payload_resume, {{"userId", 1}, {"lastEventId", since}}).size() == 1);
  }
  const auto all = http_get(srv.port(), "/api/v1/users/1/events?since=0", auth);
  CHECK(json::parse(all.body).at("events").as_array().size() == 3);  // the history is there to replay
}

// --- found in review: a resume larger than the outbound budget -----------------------------------------

TEST_CASE("a resume with more history than the outbound budget is paced, not cut as a slow consumer") {
  auto settings = default_settings();
  settings.outbox_capacity = 32;           // frames
  settings.outbox_max_bytes = 64 * 1024;   // bytes: the history below is ~10 times this
  test_server srv(settings);
  const std::string text(2000, 'r');
  json::array events;
  for (int i = 1; i <= 300; ++i) {
    auto e = task_event("created", 1, i);
    e["task"].as_object()["description"] = text;
    events.push_back(std::move(e));
  }
  REQUIRE(post_events(srv, events).status == 202);
  for (const bool batch : {false, true}) {
    CAPTURE(batch);
    ws_client c;
    open_session(c, srv, "1", "&lastEventId=0");
    const auto seen = subscribe(c, {{"userId", 1}, {"batch", batch}});
    std::vector<std::string> ids;
    for (const auto& m : seen) {
      if (type_of(m) == "task_update") ids.emplace_back(m.at("id").as_string());
      if (type_of(m) == "task_batch")
        for (const auto& u : m.at("payload").at("updates").as_array()) ids.emplace_back(u.at("id").as_string());
    }
    REQUIRE(ids.size() == 300);
    CHECK(ids.front() == srv.event_id(1));
    CHECK(ids.back() == srv.event_id(300));
  }
}

// Found by fuzz_ws_session (issue 13): an invalid message, two more, then an unmasked frame cut
// short and the end of the stream, all at once. Beast's read and our close then waited on each
// other; closing the socket woke neither, so the session, its memory and its place in
// --max-connections were never given back. The close grace now cancels both.
TEST_CASE("a protocol error during the server's close handshake does not leak the session") {
  auto settings = default_settings();
  settings.close_grace = 200ms;
  test_server srv(settings);
  ws_client c;
  open_session(c, srv, "1");
  const auto masked_with_zero_key = [](const std::string& text) {
    return std::string{'\x81', static_cast<char>(0x80 | text.size())} + std::string(4, '\0') + text;
  };
  c.send_raw(masked_with_zero_key(R"({""id"":"ack","payload":{"ids":["3","1",2]}})") +
             masked_with_zero_key(R"({"type":"subscribe_dashboard","payload":{"userId":"1","batch":true}})") +
             masked_with_zero_key(R"({"type":"ack","payload":{"ids":["0"]}})") +
             std::string("\x81\x3f\xb9\0\0\0\0", 7) + R"({"type":"unsubscribe_dashboard","payl"created"erId":"1"}})");
  c.shutdown_send();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (srv.server().connection_count() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();  // the close grace ends it on the server's thread
  CHECK(srv.server().connection_count() == 0);
  CHECK(srv.log_text().find("closed code=1008 reason=INVALID_MESSAGE") != std::string::npos);
}

}  // namespace net_adversarial_test
