// cluster_failover_test.cpp — Redis behind Sentinel: three redis-servers (a master and two
// replicas) and three redis-sentinels on loopback. The gateway finds the master through Sentinel
// and follows a failover, planned (SENTINEL FAILOVER) or not (kill -9 of the master), while
// batches stream in: with --redis-min-replicas 1 every 202'd batch survives, and a live client
// sees each accepted event once and in order.
#include "store/redis_url.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/sessions.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"
#include "support/paths.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace dh::test;
using namespace std::chrono_literals;

namespace {

constexpr int final_task = 1'000'000;  // posted last: the live client reads until it arrives

http_reply post_task(std::uint16_t port, int task) {
  return http_post(port, "/api/v1/events", json::serialize(task_event("created", 1, task)),
                   {{"Authorization", std::string("Bearer ") + test_ingest_key}});
}

// The task ids of user 1's history as the instance on `port` serves it over REST.
std::set<std::int64_t> stored_tasks(std::uint16_t port) {
  std::set<std::int64_t> out;
  std::string since = "0";
  for (;;) {
    const auto reply = http_get(port, "/api/v1/users/1/events?limit=1000&since=" + since,
                                {{"Authorization", "Bearer " + make_token("1")}});
    REQUIRE(reply.status == 200);
    const auto doc = json::parse(reply.body).as_object();
    const auto& events = doc.at("events").as_array();
    for (const auto& e : events) out.insert(e.at("payload").at("taskId").as_int64());
    if (events.size() < 1000) return out;
    since = std::string(events.back().at("id").as_string());
  }
}

struct stream_outcome {
  std::vector<int> accepted;               // answered 202, in order
  int refused = 0;                         // answered 503
  std::vector<std::string> statuses;       // connection_status as the live client saw them
  std::vector<std::int64_t> tasks_seen;    // task_update by task, in arrival order
  bool ids_increasing = true;
  std::vector<bool> resumes;               // recovered, for each reconnect
  std::vector<int> close_codes;            // of each session that ended (0: no close frame read)
};

// Posts one task at a time to `port` while a live client of user 1 reads (and, like the reference
// client, resumes with its last id when the server restarts its session); after 10 accepted,
// `disrupt` runs (and returns the new master's port, or 0); posting goes on until 10 more are
// accepted after it, then the final task. Bounded: 90 s in all.
stream_outcome stream_through(std::uint16_t port, const std::string& ws_target,
                              const std::function<std::uint16_t()>& disrupt) {
  stream_outcome out;
  auto live = std::make_unique<ws_client>();
  REQUIRE(live->connect(port, ws_target));
  REQUIRE(type_of(live->read_json()) == "connection_success");
  subscribe(*live, {{"userId", 1}});

  std::atomic<bool> reader_done{false};
  std::thread reader([&] {
    std::uint64_t last_id = 0;
    for (int reconnects = 0; reconnects < 5;) {
      // A failover takes seconds; nothing arrives meanwhile but connection_status.
      const auto text = live->read_text(30s);
      if (!text) {
        // The server restarted the session (1012: the store lost updates) or the connection
        // dropped (the close frame can be lost to a reset): resume from the last id, as the
        // reference client does.
        out.close_codes.push_back(live->close_code());
        ++reconnects;
        // Like the reference client: a refused attempt (the instance may still be reconnecting
        // to Redis) is tried again after a pause, a bounded number of times.
        std::optional<json::object> hello;
        for (int attempt = 0; attempt < 40 && !hello; ++attempt) {
          live = std::make_unique<ws_client>();
          if (live->connect(port, ws_target + "&lastEventId=" + std::to_string(last_id))) {
            const auto first = live->read_text(10s);
            if (first && type_of(json::parse(*first).as_object()) == "connection_success")
              hello = json::parse(*first).as_object();
          }
          if (!hello) std::this_thread::sleep_for(250ms);
        }
        if (!hello) break;
        out.resumes.push_back(hello->at("payload").at("recovered").as_bool());
        live->send_json({{"type", "subscribe_dashboard"}, {"payload", {{"userId", 1}}}});
        continue;
      }
      const auto m = json::parse(*text).as_object();
      if (type_of(m) == "connection_status") out.statuses.emplace_back(m.at("payload").at("status").as_string());
      if (type_of(m) != "task_update") continue;
      const auto id = std::stoull(std::string(m.at("id").as_string()));
      out.ids_increasing = out.ids_increasing && id > last_id;
      last_id = id;
      const auto task = m.at("payload").at("taskId").as_int64();
      out.tasks_seen.push_back(task);
      if (task == final_task) {
        reader_done = true;
        break;
      }
    }
  });

  const auto deadline = std::chrono::steady_clock::now() + 90s;
  std::atomic<std::uint16_t> new_master{0};  // written by the disruption's thread
  std::size_t accepted_before = 0;
  std::thread disruption;
  for (int task = 1; std::chrono::steady_clock::now() < deadline; ++task) {
    const auto status = post_task(port, task).status;
    if (status == 202) out.accepted.push_back(task);
    if (status == 503) ++out.refused;
    if (out.accepted.size() == 10 && !disruption.joinable()) {
      accepted_before = out.accepted.size();
      disruption = std::thread([&] { new_master = disrupt(); });
    }
    if (disruption.joinable() && new_master != 0 && out.accepted.size() >= accepted_before + 10) break;
    std::this_thread::sleep_for(10ms);  // pacing: a few hundred batches across the failover
  }
  if (disruption.joinable()) disruption.join();
  CHECK(new_master.load() != 0);
  bool final_accepted = false;
  while (!final_accepted && std::chrono::steady_clock::now() < deadline + 10s) {
    final_accepted = post_task(port, final_task).status == 202;
    if (!final_accepted) std::this_thread::sleep_for(100ms);
  }
  CHECK(final_accepted);
  if (final_accepted) out.accepted.push_back(final_task);
  reader.join();
  CHECK(reader_done);
  return out;
}

void check_every_accepted_event(const stream_outcome& out, std::uint16_t port) {
  MESSAGE(fmt::format("{} batches accepted ({} after the failover began), {} refused with 503; the live client read {} "
                      "task updates, the statuses [{}]; its sessions ended with [{}] and it resumed {} time(s), "
                      "recovered: [{}]",
                      out.accepted.size(), out.accepted.size() > 10 ? out.accepted.size() - 10 : 0, out.refused,
                      out.tasks_seen.size(), fmt::join(out.statuses, ", "), fmt::join(out.close_codes, ", "),
                      out.resumes.size(), fmt::join(out.resumes, ", ")));
  // The session hears the bus go; if the store lost updates it may have seen (batches refused
  // after they were published), it is restarted with 1012 and its resume says recovered:false.
  // Either way it sees every accepted update once (checked below).
  REQUIRE(!out.statuses.empty());
  CHECK(out.statuses.front() == "reconnecting");
  if (out.resumes.empty()) CHECK(out.statuses.back() == "connected");
  // A session the server restarted because the store lost updates hears it on its resume.
  for (std::size_t i = 0; i < out.resumes.size(); ++i)
    if (out.close_codes[i] == 1012) CHECK_FALSE(out.resumes[i]);
  CHECK(out.ids_increasing);
  std::map<std::int64_t, int> times_seen;
  for (const auto task : out.tasks_seen) ++times_seen[task];
  for (const int task : out.accepted) {
    CAPTURE(task);
    CHECK(times_seen[task] == 1);  // every accepted event reached the live client, once
  }
  for (const auto& [task, n] : times_seen) CHECK(n == 1);
  const auto stored = stored_tasks(port);
  std::size_t missing = 0;
  for (const int task : out.accepted) missing += stored.count(task) == 0 ? 1 : 0;
  CHECK(missing == 0);  // every 202'd batch is in the new master
}

}  // namespace

TEST_CASE("Sentinel: SENTINEL FAILOVER while batches stream in: the instance follows the new master without a restart") {
  redis_sentinel_set set;
  const auto old_master = set.master_port();
  auto settings = redis_test_settings("redis://127.0.0.1:1", fresh_prefix());  // the address comes from Sentinel
  auto sentinels = dh::store::parse_sentinel_list(set.sentinel_list());
  REQUIRE(sentinels.has_value());
  settings.sentinels = *sentinels;
  settings.master_name = redis_sentinel_set::master_name;
  // Both replicas: SENTINEL FAILOVER promotes one while the old master, still a master until
  // Sentinel demotes it, takes writes the other replica could confirm and that are then lost.
  settings.store.min_replicas = 2;
  test_server a(settings);
  const auto status = json::parse(http_get(a.port(), "/status").body).as_object();
  CHECK(std::string(status.at("store").at("durability").as_string()).find("on 2 replica(s)") != std::string::npos);

  const auto out = stream_through(a.port(), a.ws_target("1", make_token("1")), [&] {
    const auto asked = run_binary({"/usr/bin/redis-cli", "-p", std::to_string(set.sentinel_ports()[0]), "SENTINEL",
                                   "FAILOVER", redis_sentinel_set::master_name});
    CHECK(asked.out.find("OK") != std::string::npos);
    return set.wait_for_new_master(old_master);
  });
  check_every_accepted_event(out, a.port());
  CHECK(log_shows(a, "the master is at 127.0.0.1:"));
}

TEST_CASE("Sentinel: kill -9 of the master while batches stream into the binary with --redis-min-replicas 1: every 202'd batch survives") {
  redis_sentinel_set set;
  const auto old_master = set.master_port();
  child_process server({binary_path, "--port", "0", "--bind", "127.0.0.1", "--redis-sentinel", set.sentinel_list(),
                        "--redis-master", redis_sentinel_set::master_name, "--redis-min-replicas", "1",
                        "--ingest-key", test_ingest_key, "--log-level", "warn"},
                       {{"DASHBOARD_JWT_SECRET", test_secret}});
  const auto banner = server.read_line().value_or("");
  REQUIRE(banner.starts_with("dashboard-hub listening on "));
  const auto port = static_cast<std::uint16_t>(std::stoi(banner.substr(banner.rfind(':') + 1)));
  const auto ready_by = std::chrono::steady_clock::now() + 20s;
  while (http_get(port, "/ready").status != 200 && std::chrono::steady_clock::now() < ready_by)
    std::this_thread::sleep_for(50ms);
  REQUIRE(http_get(port, "/ready").status == 200);

  const auto out = stream_through(port, "/ws/dashboard/1?token=" + make_token("1"), [&] {
    set.kill(old_master);
    return set.wait_for_new_master(old_master);
  });
  CHECK(out.refused > 0);  // the outage was seen: 503 with nothing acknowledged
  check_every_accepted_event(out, port);
  server.signal(SIGTERM);
  CHECK(server.wait() == 0);
}
