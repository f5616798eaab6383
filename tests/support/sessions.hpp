// sessions.hpp — the steps the integration tests repeat: open a session, subscribe, post events,
// read until a message arrives, expect an error and its close code. Test-only, header-only.
#pragma once

#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <poll.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace dh::test {

inline std::string type_of(const boost::json::object& m) { return std::string(m.at("type").as_string()); }
inline std::string error_code_of(const boost::json::object& m) {
  return std::string(m.at("payload").at("code").as_string());
}

inline http_reply post_events(const test_server& srv, const boost::json::value& body) {
  return http_post(srv.port(), "/api/v1/events", boost::json::serialize(body),
                   {{"Authorization", std::string("Bearer ") + test_ingest_key}});
}

inline boost::json::object task_event(const std::string& action, boost::json::value owner, boost::json::value task_id,
                                      bool status = false, boost::json::array shared_with = {}) {
  boost::json::object e{{"action", action},
                        {"userId", owner},
                        {"task", {{"id", task_id}, {"title", "task"}, {"status", status}, {"priority", "medium"}}}};
  if (!shared_with.empty()) e["sharedWith"] = std::move(shared_with);
  return e;
}

// Connects `user` with a valid token (and `query` appended) and consumes connection_success.
inline void open_session(ws_client& c, const test_server& srv, const std::string& user, const std::string& query = {}) {
  REQUIRE(c.connect(srv.port(), srv.ws_target(user, make_token(user)) + query));
  REQUIRE(type_of(c.read_json()) == "connection_success");
}

// Subscribes and consumes `subscribed`; returns the messages up to the first dashboard_update.
inline std::vector<boost::json::object> subscribe(ws_client& c, boost::json::object payload) {
  c.send_json({{"type", "subscribe_dashboard"}, {"payload", std::move(payload)}});
  REQUIRE(type_of(c.read_json()) == "subscribed");
  std::vector<boost::json::object> seen;
  for (;;) {
    seen.push_back(c.read_json());
    if (type_of(seen.back()) == "dashboard_update") return seen;
  }
}

// Polls the server's log for `text` for a bounded time: the log line is written by the session's
// own thread after the event the test can see.
inline bool log_shows(const test_server& srv, const std::string& text,
                      std::chrono::milliseconds within = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (srv.log_text().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ::poll(nullptr, 0, 20);
  }
  return true;
}

// Reads messages until `done` holds for one of them; returns all read (fails after 5 s).
inline std::vector<boost::json::object> read_until(ws_client& c,
                                                   const std::function<bool(const boost::json::object&)>& done) {
  std::vector<boost::json::object> seen;
  for (;;) {
    seen.push_back(c.read_json());
    if (done(seen.back())) return seen;
  }
}

// One round of a flood, in one ingest request: 50 updates of ~16 KB each (~800 KB) to `user`'s
// tasks 0..49, and one small `created` of task `round` for user "2", whose client can watch for it.
inline int post_flood_round(std::uint16_t port, const std::string& ingest_key, const std::string& user, int round) {
  const std::string big(16 * 1024 - 64, 'x');  // just under the 16 KiB cap of a task string
  boost::json::array events;
  for (int task = 0; task < 50; ++task) {
    auto e = task_event("updated", boost::json::value(user), task);
    e["task"].as_object()["description"] = big;
    events.push_back(std::move(e));
  }
  events.push_back(task_event("created", "2", round));
  return http_post(port, "/api/v1/events", boost::json::serialize(events), {{"Authorization", "Bearer " + ingest_key}})
      .status;
}

// Reads until the task_update of user "2"'s task `round` from post_flood_round.
inline void read_flood_marker(ws_client& c, int round) {
  read_until(c, [&](const boost::json::object& m) {
    return type_of(m) == "task_update" && m.at("payload").at("taskId") == boost::json::value(round);
  });
}

// Floods `user` with rounds of big task_updates (post_flood_round) until the server logs that it
// cut that user's session as a slow consumer, or `max_rounds` pass; user "2"'s session `other`
// must receive its small event of every round meanwhile. Returns the rounds it took, 0 for never.
inline int flood_until_cut(test_server& srv, const std::string& user, ws_client& other, int max_rounds) {
  for (int round = 1; round <= max_rounds; ++round) {
    REQUIRE(post_flood_round(srv.port(), test_ingest_key, user, round) == 202);
    read_flood_marker(other, round);
    if (srv.log_text().find("user=" + user + " error SLOW_CONSUMER") != std::string::npos) return round;
  }
  return 0;
}

// The SPEC §2 ending: one error envelope with `code`, then the close code.
inline void expect_error_then_close(ws_client& c, const std::string& code, int close_code) {
  auto error = c.read_json();
  CHECK(type_of(error) == "error");
  CHECK(error_code_of(error) == code);
  CHECK(c.read_until_close() == close_code);
}

}  // namespace dh::test
