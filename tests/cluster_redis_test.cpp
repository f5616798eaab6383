// cluster_redis_test.cpp — several instances on one real redis-server: fan-out across instances,
// one connection limit for the cluster, leases of a killed instance lapsing, resume on another
// instance, and a Redis outage during ingest that loses and doubles nothing.
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/sessions.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"
#include "support/paths.hpp"
#include "store/redis_schema.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace dh::test;
using namespace std::chrono_literals;

namespace {

std::string bearer(const std::string& user) { return "Bearer " + make_token(user); }

json::object dashboard_of(std::uint16_t port, const std::string& user) {
  auto reply = http_get(port, "/api/v1/users/" + user + "/dashboard", {{"Authorization", bearer(user)}});
  REQUIRE(reply.status == 200);
  return json::parse(reply.body).as_object();
}

bool is_task_update(const json::object& m, const json::value& task_id) {
  return type_of(m) == "task_update" && m.at("payload").at("taskId") == task_id;
}

// Polls /ready (a readiness probe, as a load balancer would) until it answers 200, 10 s at most.
bool wait_ready(std::uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (http_get(port, "/ready").status == 200) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// One redis-cli command's output lines.
std::vector<std::string> redis_cli(std::uint16_t port, std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/redis-cli", "-p", std::to_string(port)});
  const auto r = run_binary(args);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::uint64_t redis_time_ms(std::uint16_t port) {
  const auto t = redis_cli(port, {"TIME"});
  REQUIRE(t.size() == 2);
  return std::stoull(t[0]) * 1000 + std::stoull(t[1]) / 1000;
}

// A lease key's members and their expiries (ms, Redis's clock).
std::map<std::string, std::uint64_t> lease_expiries(std::uint16_t port, const std::string& key) {
  const auto lines = redis_cli(port, {"ZRANGE", key, "0", "-1", "WITHSCORES"});
  std::map<std::string, std::uint64_t> out;
  for (std::size_t i = 0; i + 1 < lines.size(); i += 2) out[lines[i]] = std::stoull(lines[i + 1]);
  return out;
}

// Every instance's inbox under `prefix`, with its length: the records the apply script wrote.
std::map<std::string, std::string> inbox_lengths(std::uint16_t port, const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& key : redis_cli(port, {"KEYS", prefix + "in:*"})) out[key] = redis_cli(port, {"XLEN", key}).at(0);
  return out;
}

// Two in-process instances sharing one Redis and one key prefix.
struct two_instances {
  redis_server redis;
  std::string prefix = fresh_prefix();
  test_server a{redis_test_settings(redis.url(), prefix)};
  test_server b{redis_test_settings(redis.url(), prefix)};
};

}  // namespace

TEST_CASE("an event posted to one instance reaches the owner and a shared user on another, and both agree") {
  two_instances cluster;
  ws_client owner, shared;
  open_session(owner, cluster.b, "1");
  open_session(shared, cluster.b, "2");
  subscribe(owner, {{"userId", 1}});
  subscribe(shared, {{"userId", 2}});

  REQUIRE(post_events(cluster.a, task_event("created", 1, 7, true, {2})).status == 202);
  const auto to_owner = read_until(owner, [](const json::object& m) { return is_task_update(m, 7); }).back();
  const auto to_shared = read_until(shared, [](const json::object& m) { return is_task_update(m, 7); }).back();
  CHECK(to_owner.at("payload").at("action") == json::value("created"));
  CHECK(to_shared.at("payload").at("action") == json::value("created"));
  // Ids come from Redis, per user: each user's first of this epoch (redis_schema.hpp).
  CHECK(to_owner.at("id") == to_shared.at("id"));
  CHECK(to_owner.at("id") == dashboard_of(cluster.a.port(), "1").at("lastEventId"));

  for (const std::string user : {"1", "2"}) {
    const auto on_a = dashboard_of(cluster.a.port(), user);
    const auto on_b = dashboard_of(cluster.b.port(), user);
    CHECK(on_a.at("totalTasks") == json::value(1));
    CHECK(on_a.at("completedTasks") == json::value(1));
    CHECK(on_a.at("totalTasks") == on_b.at("totalTasks"));
    CHECK(on_a.at("completedTasks") == on_b.at("completedTasks"));
    CHECK(on_a.at("lastEventId") == on_b.at("lastEventId"));
  }
}

TEST_CASE("the connection limit holds across instances: the sixth connection of a user is refused with 4008") {
  two_instances cluster;
  std::vector<std::unique_ptr<ws_client>> open;
  for (int i = 0; i < 5; ++i) {
    open.push_back(std::make_unique<ws_client>());
    open_session(*open.back(), i % 2 == 0 ? cluster.a : cluster.b, "1");
  }
  for (auto* target : {&cluster.a, &cluster.b}) {
    ws_client sixth;
    REQUIRE(sixth.connect(target->port(), target->ws_target("1", make_token("1"))));
    expect_error_then_close(sixth, "CONNECTION_LIMIT", 4008);
  }
  // Another user is not affected, and a closed session frees its slot for the cluster.
  ws_client other;
  open_session(other, cluster.a, "2");
  REQUIRE(open.front()->close());
  ws_client replacement;
  open_session(replacement, cluster.b, "1");
}

TEST_CASE("leases are renewed while their sessions live, however long that is") {
  redis_server redis;
  auto settings = redis_test_settings(redis.url(), fresh_prefix());
  settings.lease_ttl = 2s;
  test_server srv(settings);
  std::vector<std::unique_ptr<ws_client>> open;
  for (int i = 0; i < 5; ++i) {
    open.push_back(std::make_unique<ws_client>());
    open_session(*open.back(), srv, "1");
  }
  // The leases' clock is Redis's (TIME): wait, by that clock, until every first lease would have
  // lapsed, then check each was renewed past it and still holds its slot.
  const auto key = settings.store.prefix + "conn:1";
  const auto first = lease_expiries(redis.port(), key);
  REQUIRE(first.size() == 5);
  std::uint64_t latest = 0;
  for (const auto& [member, expiry] : first) latest = std::max(latest, expiry);
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (redis_time_ms(redis.port()) <= latest && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  REQUIRE(redis_time_ms(redis.port()) > latest);
  const auto now = lease_expiries(redis.port(), key);
  REQUIRE(now.size() == 5);
  for (const auto& [member, expiry] : now) CHECK(expiry > first.at(member));
  ws_client sixth;
  REQUIRE(sixth.connect(srv.port(), srv.ws_target("1", make_token("1"))));
  expect_error_then_close(sixth, "CONNECTION_LIMIT", 4008);
}

TEST_CASE("a client moved to another instance with lastEventId gets exactly what it missed") {
  two_instances cluster;
  std::string last_seen;
  {
    ws_client c;
    open_session(c, cluster.a, "1");
    subscribe(c, {{"userId", 1}});
    REQUIRE(post_events(cluster.a, task_event("created", 1, 1)).status == 202);
    last_seen = std::string(read_until(c, [](const json::object& m) { return is_task_update(m, 1); })
                                .back().at("id").as_string());
  }
  // Missed while away, ingested on both instances.
  REQUIRE(post_events(cluster.a, task_event("created", 1, 2)).status == 202);
  REQUIRE(post_events(cluster.b, task_event("created", 1, 3)).status == 202);
  REQUIRE(post_events(cluster.a, task_event("updated", 1, 2, true)).status == 202);

  ws_client moved;
  REQUIRE(moved.connect(cluster.b.port(), cluster.b.ws_target("1", make_token("1")) + "&lastEventId=" + last_seen));
  CHECK(moved.read_json().at("payload").at("recovered") == json::value(true));
  const auto replay = subscribe(moved, {{"userId", 1}});
  REQUIRE(replay.size() == 4);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(type_of(replay[i]) == "task_update");
    CHECK(replay[i].at("id") == json::value(std::to_string(std::stoull(last_seen) + 1 + i)));
  }
  CHECK(replay[3].at("payload").at("totalTasks") == json::value(3));
  CHECK(replay[3].at("payload").at("completedTasks") == json::value(1));
}

TEST_CASE("kill -9 of an instance frees its connection leases within the lease TTL") {
  redis_server redis;
  const std::string secret = test_secret;
  child_process doomed({dh::test::binary_path, "--port", "0", "--bind", "127.0.0.1", "--threads", "1", "--redis", redis.url(),
                        "--redis-lease-ttl", "2s"},
                       {{"DASHBOARD_JWT_SECRET", secret}});
  const auto banner = doomed.read_line();
  REQUIRE(banner.has_value());
  const auto port = static_cast<std::uint16_t>(std::stoi(banner->substr(banner->rfind(':') + 1)));
  REQUIRE(wait_ready(port));
  std::vector<std::unique_ptr<ws_client>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<ws_client>());
    REQUIRE(held.back()->connect(port, "/ws/dashboard/1?token=" + make_token("1")));
    REQUIRE(type_of(held.back()->read_json()) == "connection_success");
  }

  test_server survivor(redis_test_settings(redis.url(), "dh:"));
  {
    ws_client sixth;  // the doomed instance's five leases are live
    REQUIRE(sixth.connect(survivor.port(), survivor.ws_target("1", make_token("1"))));
    expect_error_then_close(sixth, "CONNECTION_LIMIT", 4008);
  }
  doomed.signal(SIGKILL);
  (void)doomed.wait();

  // Nobody releases those leases: they lapse. Retry as a reconnecting browser would.
  const auto deadline = std::chrono::steady_clock::now() + 2s + 5s;
  bool admitted = false;
  while (!admitted && std::chrono::steady_clock::now() < deadline) {
    ws_client again;
    REQUIRE(again.connect(survivor.port(), survivor.ws_target("1", make_token("1"))));
    admitted = type_of(again.read_json()) == "connection_success";
    if (!admitted) std::this_thread::sleep_for(100ms);
  }
  CHECK(admitted);
}

TEST_CASE("a Redis outage during ingest: 503s, then every accepted event reaches every socket once, in order") {
  redis_server redis(redis_server::persistence::every_write);
  const auto prefix = fresh_prefix();
  test_server a(redis_test_settings(redis.url(), prefix));
  test_server b(redis_test_settings(redis.url(), prefix));
  ws_client owner, shared;
  open_session(owner, b, "1");
  open_session(shared, a, "2");
  subscribe(owner, {{"userId", 1}});
  subscribe(shared, {{"userId", 2}});

  std::vector<int> accepted;
  int refused = 0;
  auto post = [&](int task) {
    const auto status = post_events(a, task_event("created", 1, task, false, {2})).status;
    if (status == 202) accepted.push_back(task);
    if (status == 503) ++refused;
    return status;
  };
  for (int task = 1; task <= 10; ++task) REQUIRE(post(task) == 202);
  redis.stop();
  for (int task = 11; task <= 20; ++task) CHECK(post(task) == 503);
  const auto refusal = raw_exchange(a.port(), std::string("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                                          "Authorization: Bearer ") +
                                                  test_ingest_key + "\r\nContent-Length: " +
                                                  std::to_string(json::serialize(task_event("created", 1, 99)).size()) +
                                                  "\r\n\r\n" + json::serialize(task_event("created", 1, 99)));
  CHECK(refusal.starts_with("HTTP/1.1 503"));
  CHECK(refusal.find("Retry-After: 1") != std::string::npos);
  CHECK(http_get(a.port(), "/ready").status == 503);
  {
    ws_client newcomer;  // no lease can be taken: refused with a reason, not left hanging
    REQUIRE(newcomer.connect(b.port(), b.ws_target("3", make_token("3"))));
    expect_error_then_close(newcomer, "INTERNAL_ERROR", 1011);
  }
  redis.start();
  REQUIRE(wait_ready(a.port()));
  REQUIRE(wait_ready(b.port()));
  for (int task = 21; task <= 30; ++task) REQUIRE(post(task) == 202);
  CHECK(refused == 10);

  for (auto* c : {&owner, &shared}) {
    CAPTURE(c == &owner ? "owner" : "shared");
    std::vector<std::string> statuses;
    std::map<int, int> times_seen;
    std::uint64_t last_id = 0;
    bool ordered = true;
    read_until(*c, [&](const json::object& m) {
      if (type_of(m) == "connection_status") statuses.emplace_back(m.at("payload").at("status").as_string());
      if (type_of(m) != "task_update") return false;
      const auto id = std::stoull(std::string(m.at("id").as_string()));
      ordered = ordered && id > last_id;
      last_id = id;
      const int task = static_cast<int>(m.at("payload").at("taskId").as_int64());
      ++times_seen[task];
      return task == 30;
    });
    CHECK(ordered);
    CHECK(statuses == std::vector<std::string>{"reconnecting", "connected"});
    for (int task : accepted) CHECK(times_seen[task] == 1);
    CHECK(times_seen.size() == accepted.size());  // and nothing that was refused
  }
}

namespace {

json::object store_status(std::uint16_t port) {
  const auto reply = http_get(port, "/status");
  REQUIRE(reply.status == 200);
  return json::parse(reply.body).as_object().at("store").as_object();
}

std::uint64_t id_of(const json::object& m) { return std::stoull(std::string(m.at("id").as_string())); }

// The task_update ids `c` reads until task `last` arrives, in order.
std::vector<std::uint64_t> ids_until(ws_client& c, int last) {
  std::vector<std::uint64_t> ids;
  read_until(c, [&](const json::object& m) {
    if (type_of(m) != "task_update") return false;
    ids.push_back(id_of(m));
    return m.at("payload").at("taskId") == json::value(last);
  });
  return ids;
}

// A client that resumes from `after`: whether connection_success said recovered, and the tasks
// of the replay, in order.
std::pair<bool, std::vector<std::int64_t>> resume(test_server& s, const std::string& user, std::uint64_t after) {
  ws_client c;
  REQUIRE(c.connect(s.port(), s.ws_target(user, make_token(user)) + "&lastEventId=" + std::to_string(after)));
  const auto hello = c.read_json();
  REQUIRE(type_of(hello) == "connection_success");
  std::vector<std::int64_t> tasks;
  for (const auto& m : subscribe(c, {{"userId", std::stoi(user)}}))
    if (type_of(m) == "task_update") tasks.push_back(m.at("payload").at("taskId").as_int64());
  return {hello.at("payload").at("recovered").as_bool(), tasks};
}

}  // namespace

namespace {

// The session's end after the store lost updates: a connection_status, then close 1012, so the
// client resumes (SPEC §3: never a silent gap).
void expect_restart(ws_client& c) {
  std::vector<std::string> statuses;
  for (;;) {
    const auto text = c.read_text(10s);
    if (!text) break;
    const auto m = json::parse(*text).as_object();
    if (type_of(m) == "connection_status") statuses.emplace_back(m.at("payload").at("status").as_string());
  }
  CHECK(c.close_code() == 1012);
  REQUIRE(!statuses.empty());
  CHECK(statuses.back() == "reconnecting");
}

}  // namespace

TEST_CASE("a Redis restarted empty: its sessions resume, get recovered:false and everything after, with ids above every earlier one") {
  redis_server redis;  // no persistence: a restart loses everything
  const auto prefix = fresh_prefix();
  test_server a(redis_test_settings(redis.url(), prefix));
  const auto before = store_status(a.port());
  CHECK(before.at("backend") == json::value("redis"));
  CHECK(std::string(before.at("durability").as_string()).find("no persistence") != std::string::npos);
  const auto first_epoch = before.at("epoch").as_int64();

  ws_client live;
  open_session(live, a, "1");
  subscribe(live, {{"userId", 1}});
  for (int task = 1; task <= 3; ++task) REQUIRE(post_events(a, task_event("created", 1, task)).status == 202);
  const auto old_ids = ids_until(live, 3);
  REQUIRE(old_ids.size() == 3);

  redis.stop();
  redis.start();
  expect_restart(live);  // its tasks 1-3 are gone from the store: it must not keep them silently
  REQUIRE(wait_ready(a.port()));
  for (int task = 4; task <= 5; ++task) REQUIRE(post_events(a, task_event("created", 1, task)).status == 202);
  const auto after = store_status(a.port());
  CHECK(after.at("epoch").as_int64() > first_epoch);
  CHECK(static_cast<std::uint64_t>(after.at("epoch_base").as_int64()) > old_ids.back());

  // From the last id before the loss: what the lost Redis held after it is gone, so not recovered,
  // and everything the store holds after it follows, with ids above every earlier one.
  const auto [recovered, replayed] = resume(a, "1", old_ids.back());
  CHECK_FALSE(recovered);
  CHECK(replayed == std::vector<std::int64_t>{4, 5});
  const auto newest = std::stoull(std::string(dashboard_of(a.port(), "1").at("lastEventId").as_string()));
  CHECK(newest > old_ids.back() + 1);
  const auto [caught_up, nothing] = resume(a, "1", newest);
  CHECK(caught_up);
  CHECK(nothing.empty());
}

TEST_CASE("a Redis restored from an older snapshot: the writes it lost are noticed, ids go on above them, resumes across get recovered:false") {
  redis_server redis;
  const auto prefix = fresh_prefix();
  test_server a(redis_test_settings(redis.url(), prefix));
  ws_client live;
  open_session(live, a, "1");
  subscribe(live, {{"userId", 1}});
  for (int task = 1; task <= 2; ++task) REQUIRE(post_events(a, task_event("created", 1, task)).status == 202);
  const auto snapshot_ids = ids_until(live, 2);
  REQUIRE(redis_cli(redis.port(), {"SAVE"}) == std::vector<std::string>{"OK"});
  for (int task = 3; task <= 4; ++task) REQUIRE(post_events(a, task_event("created", 1, task)).status == 202);
  const auto lost_ids = ids_until(live, 4);
  REQUIRE(lost_ids.size() == 2);

  redis.stop();
  redis.start();  // loads the snapshot: tasks 3 and 4 and their ids are gone from Redis
  CHECK(redis_cli(redis.port(), {"EXISTS", prefix + "ts:4"}) == std::vector<std::string>{"0"});
  expect_restart(live);
  REQUIRE(wait_ready(a.port()));
  REQUIRE(log_shows(a, "Redis lost writes"));
  REQUIRE(post_events(a, task_event("created", 1, 5)).status == 202);

  // Without the epoch Redis would have given task 5 the id task 3 had: a client would drop it as
  // seen, or take it for task 3.
  const auto [from_lost, after_lost] = resume(a, "1", lost_ids.back());
  CHECK_FALSE(from_lost);
  CHECK(after_lost == std::vector<std::int64_t>{5});
  const auto [from_snapshot, after_snapshot] = resume(a, "1", snapshot_ids.back());
  CHECK_FALSE(from_snapshot);  // tasks 3 and 4 happened after it and are lost
  CHECK(after_snapshot == std::vector<std::int64_t>{5});
  const auto newest = std::stoull(std::string(dashboard_of(a.port(), "1").at("lastEventId").as_string()));
  CHECK(newest > lost_ids.back());
}

namespace {

// bus_events_total of the instance on `port`, from its /metrics.
std::uint64_t bus_events(std::uint16_t port) {
  const auto text = http_get(port, "/metrics").body;
  const std::string name = "\ndashboard_hub_bus_events_total ";
  const auto at = text.find(name);
  REQUIRE(at != std::string::npos);
  return std::stoull(text.substr(at + name.size()));
}

}  // namespace

TEST_CASE("each instance receives only the batches that reach its own sessions' users") {
  two_instances cluster;
  ws_client one, two;
  open_session(one, cluster.a, "1");  // user 1 on a, user 2 on b
  open_session(two, cluster.b, "2");
  subscribe(one, {{"userId", 1}});
  subscribe(two, {{"userId", 2}});
  const auto a_before = bus_events(cluster.a.port()), b_before = bus_events(cluster.b.port());

  for (int task = 1; task <= 10; ++task) REQUIRE(post_events(cluster.b, task_event("created", 1, task)).status == 202);
  ids_until(one, 10);
  for (int task = 11; task <= 15; ++task) REQUIRE(post_events(cluster.a, task_event("created", 2, task)).status == 202);
  ids_until(two, 15);
  REQUIRE(post_events(cluster.a, task_event("created", 1, 16, false, {2})).status == 202);  // both
  ids_until(one, 16);
  ids_until(two, 16);

  // Ingested on b for a's user: only a read it. Shared: both did.
  CHECK(bus_events(cluster.a.port()) - a_before == 11);
  CHECK(bus_events(cluster.b.port()) - b_before == 6);
  // A user with no session anywhere: no instance reads it; history keeps it for a resume.
  REQUIRE(post_events(cluster.a, task_event("created", 3, 17)).status == 202);
  REQUIRE(post_events(cluster.a, task_event("created", 1, 18)).status == 202);
  ids_until(one, 18);  // a has read everything up to here, and b nothing more
  CHECK(bus_events(cluster.a.port()) - a_before == 12);
  CHECK(bus_events(cluster.b.port()) - b_before == 6);
  // One batch for both users: each instance's record holds only its own user's event.
  REQUIRE(post_events(cluster.b, json::array{task_event("created", 1, 19), task_event("created", 2, 20)}).status == 202);
  ids_until(one, 19);
  ids_until(two, 20);
  CHECK(bus_events(cluster.a.port()) - a_before == 13);
  CHECK(bus_events(cluster.b.port()) - b_before == 7);

  // A closed session gives its lease back, and with it the route: user 2's batches then go to
  // no inbox at all.
  const auto route = cluster.prefix + "r:2";
  CHECK(redis_cli(cluster.redis.port(), {"EXISTS", route}) == std::vector<std::string>{"1"});
  REQUIRE(two.close());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (redis_cli(cluster.redis.port(), {"EXISTS", route}) != std::vector<std::string>{"0"} &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  REQUIRE(redis_cli(cluster.redis.port(), {"EXISTS", route}) == std::vector<std::string>{"0"});
  const auto queued = inbox_lengths(cluster.redis.port(), cluster.prefix);
  REQUIRE(post_events(cluster.a, task_event("created", 2, 21)).status == 202);
  CHECK(inbox_lengths(cluster.redis.port(), cluster.prefix) == queued);
}

TEST_CASE("a session whose lease lapsed resumes, and gets what was routed elsewhere meanwhile from history") {
  redis_server redis;
  const auto prefix = fresh_prefix();
  auto settings = redis_test_settings(redis.url(), prefix);
  settings.lease_ttl = 1500ms;  // renewed every 500 ms
  test_server a(settings);
  ws_client live;
  open_session(live, a, "1");
  subscribe(live, {{"userId", 1}});
  REQUIRE(post_events(a, task_event("created", 1, 1)).status == 202);
  const auto seen = ids_until(live, 1);

  // As if the lease had lapsed (an instance cut off from Redis for longer than the TTL): the
  // lease and the route built from it are gone, so batches for user 1 no longer come to this
  // instance until the renewal notices.
  REQUIRE(redis_cli(redis.port(), {"DEL", prefix + "conn:1", prefix + "r:1"}) == std::vector<std::string>{"2"});
  REQUIRE(post_events(a, task_event("created", 1, 2)).status == 202);
  expect_restart(live);
  CHECK(log_shows(a, "connection leases had lapsed"));
  const auto [recovered, replayed] = resume(a, "1", seen.back());
  CHECK(recovered);
  CHECK(replayed == std::vector<std::int64_t>{2});
}

TEST_CASE("a Redis holding an earlier version's keys: tasks, statistics and history carry over into the new layout") {
  redis_server redis;
  const auto prefix = fresh_prefix();
  // As the version before the string layout left them (redis_schema.hpp): hashes t: and u:,
  // history entries holding the whole payload, and an epoch without the l field.
  const std::string base = "1700000000000000";
  const auto now_ms = std::to_string(redis_time_ms(redis.port()));
  const auto created_at = dh::store::redis_schema::sortable_time(std::chrono::system_clock::now() - 1h);
  redis_cli(redis.port(), {"HSET", prefix + "epoch", "b", base, "w", "5", "n", "1", "s", now_ms});
  redis_cli(redis.port(), {"HSET", prefix + "t:7", "o", "1", "a", "1", "c", "0", "d", "0", "u", created_at});
  redis_cli(redis.port(), {"HSET", prefix + "u:1", "n", "1", "c", "0", "t", now_ms, "e", "1700000000000003"});
  redis_cli(redis.port(), {"XADD", prefix + "h:1", "1700000000000003-0", "at", now_ms, "p",
                           R"({"taskId":7,"action":"created","task":{"id":7,"title":"old"}})"});

  test_server srv(redis_test_settings(redis.url(), prefix));
  const auto dashboard = dashboard_of(srv.port(), "1");
  CHECK(dashboard.at("totalTasks") == json::value(1));
  CHECK(dashboard.at("lastEventId") == json::value("1700000000000003"));
  const auto [recovered, replayed] = resume(srv, "1", 1700000000000002);
  CHECK(recovered);
  CHECK(replayed == std::vector<std::int64_t>{7});

  // The stored task is found: the owner sees an update (not a creation), with the next id.
  ws_client live;
  open_session(live, srv, "1");
  subscribe(live, {{"userId", 1}});
  REQUIRE(post_events(srv, task_event("updated", 1, 7, true)).status == 202);
  const auto update = read_until(live, [](const json::object& m) { return is_task_update(m, 7); }).back();
  CHECK(update.at("payload").at("action") == json::value("updated"));
  CHECK(update.at("id") == json::value("1700000000000004"));
  const auto after = dashboard_of(srv.port(), "1");
  CHECK(after.at("totalTasks") == json::value(1));
  CHECK(after.at("completedTasks") == json::value(1));
  // Rewritten in the new layout, the old keys gone.
  CHECK(redis_cli(redis.port(), {"EXISTS", prefix + "t:7", prefix + "u:1"}) == std::vector<std::string>{"0"});
  CHECK(redis_cli(redis.port(), {"EXISTS", prefix + "ts:7", prefix + "us:1"}) == std::vector<std::string>{"2"});
}
