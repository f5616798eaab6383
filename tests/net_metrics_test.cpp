// net_metrics_test.cpp — /metrics and /status over real sockets: the counters move by exactly what
// the clients did, promtool accepts the text, /status counts the open sockets and caps its list.
#include "core/memory_store.hpp"
#include "support/sessions.hpp"
#include "dh/version.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

namespace net_metrics_test {  // unity builds compile several test files as one unit

using namespace dh;
using namespace dh::test;
namespace json = boost::json;

namespace {

// Every sample of a scrape, keyed by its name and labels as printed ("x_total{type=\"ping\"}").
std::map<std::string, double> scrape(const test_server& srv) {
  const auto reply = http_get(srv.port(), "/metrics");
  REQUIRE(reply.status == 200);
  std::map<std::string, double> out;
  std::istringstream lines(reply.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == '#') continue;
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

constexpr std::string_view prefix = "dashboard_hub_";

std::string sample(std::string_view name, std::string_view label = {}, std::string_view value = {}) {
  std::string key = std::string(prefix) + std::string(name);
  if (!label.empty()) key += "{" + std::string(label) + "=\"" + std::string(value) + "\"}";
  return key;
}

// The change of each expected sample between two scrapes.
using deltas = std::map<std::string, double>;

deltas changes(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
               const deltas& expected) {
  deltas seen;
  for (const auto& [key, _] : expected) {
    const auto b = before.find(key);
    const auto a = after.find(key);
    REQUIRE_MESSAGE(a != after.end(), "no sample " << key);
    seen[key] = a->second - (b == before.end() ? 0.0 : b->second);
  }
  return seen;
}

// Writes happen before the writer counts them, so a client may read a frame a moment before the
// counter moves: scrape until every expected change is there (5 s at most), then compare exactly.
deltas settled_changes(const test_server& srv, const std::map<std::string, double>& before, const deltas& expected) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto seen = changes(before, scrape(srv), expected);
    bool reached = true;
    for (const auto& [key, want] : expected) reached = reached && seen[key] >= want;
    if (reached || std::chrono::steady_clock::now() > deadline) return seen;
  }
}

json::object status_of(const test_server& srv) {
  const auto reply = http_get(srv.port(), "/status");
  REQUIRE(reply.status == 200);
  return json::parse(reply.body).as_object();
}

}  // namespace

TEST_CASE("/metrics counters move by exactly what the clients did") {
  auto settings = default_settings();
  settings.max_ingest_bytes = 4096;
  test_server srv(settings);
  const auto before = scrape(srv);

  ws_client watcher;
  open_session(watcher, srv, "m1");
  subscribe(watcher, {{"userId", "m1"}});
  for (int i = 0; i < 3; ++i) {
    watcher.send_ping({{"n", i}});
    CHECK(type_of(watcher.read_json()) == "pong");
  }
  std::vector<std::unique_ptr<ws_client>> others;
  for (int i = 0; i < 4; ++i) {
    others.push_back(std::make_unique<ws_client>());
    open_session(*others.back(), srv, "m1");
  }
  ws_client refused;  // the sixth of one user
  REQUIRE(refused.connect(srv.port(), srv.ws_target("m1", make_token("m1"))));
  expect_error_then_close(refused, "CONNECTION_LIMIT", 4008);

  REQUIRE(post_events(srv, json::array{task_event("created", "m1", 1)}).status == 202);
  read_until(watcher, [](const json::object& m) { return type_of(m) == "task_update"; });
  // The statistics that task changed follow within the debounce interval.
  read_until(watcher, [](const json::object& m) { return type_of(m) == "dashboard_update"; });
  REQUIRE(http_post(srv.port(), "/api/v1/events", "[]", {{"Authorization", "Bearer wrong-key"}}).status == 401);
  REQUIRE(http_post(srv.port(), "/api/v1/events", "{\"action\":1}", {{"Authorization", std::string("Bearer ") + test_ingest_key}})
              .status == 400);
  const std::string too_big(settings.max_ingest_bytes + 1, ' ');
  REQUIRE(http_post(srv.port(), "/api/v1/events", too_big, {{"Authorization", std::string("Bearer ") + test_ingest_key}})
              .status == 413);
  watcher.send_text("{not json");
  expect_error_then_close(watcher, "INVALID_MESSAGE", 1008);

  const deltas expected{
      {sample("client_messages_total", "type", "ping"), 3},
      {sample("client_messages_total", "type", "subscribe_dashboard"), 1},
      {sample("client_messages_total", "type", "ack"), 0},
      {sample("server_messages_total", "type", "connection_success"), 5},
      {sample("server_messages_total", "type", "subscribed"), 1},
      {sample("server_messages_total", "type", "pong"), 3},
      {sample("server_messages_total", "type", "task_update"), 1},
      {sample("server_messages_total", "type", "dashboard_update"), 2},
      {sample("server_messages_total", "type", "error"), 2},
      {sample("errors_total", "code", "CONNECTION_LIMIT"), 1},
      {sample("errors_total", "code", "INVALID_MESSAGE"), 1},
      {sample("closes_total", "code", "4008"), 1},
      {sample("closes_total", "code", "1008"), 1},
      {sample("ingest_requests_total", "status", "202"), 1},
      {sample("ingest_requests_total", "status", "401"), 1},
      {sample("ingest_requests_total", "status", "400"), 1},
      {sample("ingest_requests_total", "status", "413"), 1},
      {sample("ingest_events_total", "result", "applied"), 1},
      {sample("delivery_latency_seconds_count"), 1},
      {sample("handshake_duration_seconds_count"), 5},
      {sample("store_commit_duration_seconds_count"), 1},
  };
  const auto seen = settled_changes(srv, before, expected);
  for (const auto& [key, want] : expected) CHECK_MESSAGE(seen.at(key) == want, key << " moved by " << seen.at(key));

  const auto now = scrape(srv);
  CHECK(now.at(sample("connections")) == 4);
  CHECK(now.at(sample("connected_users")) == 1);
}

namespace {

// The in-memory store, until the test says it fails: then every apply throws, as a store that lost
// its disk or its server does, and ingest must answer 503.
class failing_store final : public core::store {
 public:
  std::atomic<bool> failing{false};  // set by the test thread, read on the store's
  core::apply_result apply(const std::vector<protocol::task_event>& events, core::wall_time now) override {
    if (failing) throw core::store_error("the test's store fails");
    return inner_.apply(events, now);
  }
  core::user_stats stats(const std::string& user) override { return inner_.stats(user); }
  core::history_page history(const std::string& user, std::uint64_t after, std::size_t limit, core::wall_time now) override {
    return inner_.history(user, after, limit, now);
  }

 private:
  core::memory_store inner_;
};

json::object created_at(int task, const char* updated_at) {
  auto e = task_event("created", "m2", task);
  e["task"].as_object()["updatedAt"] = updated_at;
  return e;
}

}  // namespace

TEST_CASE("/metrics counts ignored events, slow-consumer drops, 503s and says its version") {
  auto settings = default_settings();
  settings.hub.ack_window = 1;
  settings.hub.batch_window = std::chrono::milliseconds(0);
  failing_store store;
  test_server srv(settings, hs256_settings(), &store);
  const auto before = scrape(srv);

  // Last writer wins: the second event is older than the stored task, so it is ignored.
  REQUIRE(post_events(srv, json::array{created_at(1, "2026-01-02T00:00:00Z")}).status == 202);
  REQUIRE(post_events(srv, json::array{created_at(1, "2026-01-01T00:00:00Z")}).status == 202);

  // A session that acks once and then falls two updates behind a window of one is cut.
  ws_client lagger;
  open_session(lagger, srv, "m2");
  subscribe(lagger, {{"userId", "m2"}});
  lagger.send_json({{"type", "ack"}, {"payload", {{"id", "0"}}}});
  lagger.send_ping();
  read_until(lagger, [](const json::object& m) { return type_of(m) == "pong"; });  // the ack was taken
  REQUIRE(post_events(srv, json::array{created_at(2, "2026-01-03T00:00:00Z")}).status == 202);
  REQUIRE(post_events(srv, json::array{created_at(3, "2026-01-03T00:00:00Z")}).status == 202);
  read_until(lagger, [](const json::object& m) { return type_of(m) == "error"; });
  CHECK(lagger.read_until_close() == 4013);

  store.failing = true;
  CHECK(post_events(srv, json::array{created_at(4, "2026-01-03T00:00:00Z")}).status == 503);

  const deltas expected{
      {sample("ingest_events_total", "result", "applied"), 3},
      {sample("ingest_events_total", "result", "ignored"), 1},
      {sample("ingest_requests_total", "status", "202"), 4},
      {sample("ingest_requests_total", "status", "503"), 1},
      {sample("slow_consumer_drops_total"), 1},
      {sample("errors_total", "code", "SLOW_CONSUMER"), 1},
      {sample("closes_total", "code", "4013"), 1},
  };
  const auto seen = settled_changes(srv, before, expected);
  for (const auto& [key, want] : expected) CHECK_MESSAGE(seen.at(key) == want, key << " moved by " << seen.at(key));
  CHECK(scrape(srv).at(sample("build_info", "version", dh::version)) == 1);
}

TEST_CASE("promtool accepts /metrics") {
  test_server srv;
  ws_client c;
  open_session(c, srv, "p1");
  c.send_ping();
  CHECK(type_of(c.read_json()) == "pong");
  const auto text = http_get(srv.port(), "/metrics").body;

  const std::string promtool = "/usr/bin/promtool";
  REQUIRE_MESSAGE(std::filesystem::exists(promtool), "promtool is missing: scripts/setup.sh --with-tests installs it");
  const auto file = std::filesystem::temp_directory_path() / ("dh-metrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << text;
  const std::string command = promtool + " check metrics < " + file.string() + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string said;
  for (char buf[512]; std::fgets(buf, sizeof buf, pipe) != nullptr;) said += buf;
  const int status = ::pclose(pipe);
  std::filesystem::remove(file);
  CHECK_MESSAGE(WIFEXITED(status), said);
  CHECK_MESSAGE(WEXITSTATUS(status) == 0, said);
  CHECK_MESSAGE(said.empty(), said);  // promtool's lint warnings too
}

TEST_CASE("/status counts the open sockets per user") {
  test_server srv;
  auto status = status_of(srv);
  CHECK(status.at("service") == json::value("dashboard-hub"));
  CHECK(status.at("status") == json::value("running"));
  CHECK(status.contains("version"));
  CHECK(status.at("uptime_seconds").as_int64() >= 0);
  CHECK(status.at("connections") == json::value(0));

  ws_client a1, a2, b1;
  open_session(a1, srv, "s1");
  open_session(a2, srv, "s1");
  open_session(b1, srv, "s2");
  status = status_of(srv);
  CHECK(status.at("connections") == json::value(3));
  CHECK(status.at("active_users") == json::value(2));
  CHECK(status.at("connections_per_user") == json::parse(R"({"s1":2,"s2":1})"));

  REQUIRE(a2.close());
  // The hub counts the close once the session has left it; the client saw the close a moment before.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (status_of(srv).at("connections") != json::value(2) && std::chrono::steady_clock::now() < deadline) {
  }
  status = status_of(srv);
  CHECK(status.at("connections") == json::value(2));
  CHECK(status.at("connections_per_user") == json::parse(R"({"s1":1,"s2":1})"));
}

TEST_CASE("/status lists the 100 busiest users and says how many there are") {
  test_server srv;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int user = 0; user < 101; ++user) {
    clients.push_back(std::make_unique<ws_client>());
    open_session(*clients.back(), srv, "u" + std::to_string(user));
  }
  for (int i = 0; i < 2; ++i) {  // "busy" has the most connections
    clients.push_back(std::make_unique<ws_client>());
    open_session(*clients.back(), srv, "busy");
  }
  const auto status = status_of(srv);
  CHECK(status.at("connections") == json::value(103));
  CHECK(status.at("active_users") == json::value(102));
  const auto& listed = status.at("connections_per_user").as_object();
  CHECK(listed.size() == 100);
  CHECK(listed.at("busy") == json::value(2));
  CHECK(status.at("connections_per_user_shown") == json::value(100));
  CHECK(status.at("connections_per_user_total") == json::value(102));
}

TEST_CASE("past --max-connections an upgrade gets 503 with Retry-After, and the sessions held stay served") {
  auto settings = default_settings();
  settings.max_connections = 2;
  test_server srv(settings);
  const auto before = scrape(srv);
  ws_client a, b;
  open_session(a, srv, "c1");
  open_session(b, srv, "c2");
  ws_client third;
  int status = 0;
  CHECK_FALSE(third.connect(srv.port(), srv.ws_target("c3", make_token("c3")), {}, &status));
  CHECK(status == 503);
  const auto raw = raw_exchange(srv.port(), upgrade_request(srv.ws_target("c3", make_token("c3"))));
  CHECK(raw.starts_with("HTTP/1.1 503"));
  CHECK(raw.find("Retry-After: 5\r\n") != std::string::npos);
  a.send_ping();
  CHECK(type_of(a.read_json()) == "pong");
  CHECK(changes(before, scrape(srv), {{sample("upgrades_refused_full_total"), 2}}).at(sample("upgrades_refused_full_total")) == 2);

  REQUIRE(b.close());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (srv.server().connection_count() > 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();  // the socket closes on the server's thread a moment after the handshake
  ws_client again;
  open_session(again, srv, "c3");  // a slot came free
}

TEST_CASE("past --connection-rate-per-address a new connection gets 429 with Retry-After, and other addresses are served") {
  auto settings = default_settings();
  settings.address_limit = {.per_second = 0.01, .burst = 2};  // no token comes back within the test
  test_server srv(settings);
  ws_client a, b;
  open_session(a, srv, "r1");
  open_session(b, srv, "r2");
  ws_client third;
  int status = 0;
  CHECK_FALSE(third.connect(srv.port(), srv.ws_target("r3", make_token("r3")), {}, &status));
  CHECK(status == 429);
  const auto raw = raw_exchange(srv.port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(raw.starts_with("HTTP/1.1 429"));
  CHECK(raw.find("Retry-After: 100\r\n") != std::string::npos);  // one token at 0.01 per second
  a.send_ping();
  CHECK(type_of(a.read_json()) == "pong");  // sessions already held are not limited
  // Another loopback address has a bucket of its own: its scrape is answered and counts both refusals.
  const auto metrics =
      raw_exchange(srv.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "127.0.0.2");
  CHECK(metrics.starts_with("HTTP/1.1 200"));
  CHECK(metrics.find("\ndashboard_hub_connections_refused_rate_total 2\n") != std::string::npos);
}

}  // namespace net_metrics_test
