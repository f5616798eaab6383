// task_events.hpp — builds parsed task events (as protocol::parse_ingest produces them) and the
// contract's example instant, for the model, store and codec tests. Test-only, header-only.
#pragma once

#include "protocol/task_event.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace dh::test {

// 2026-01-03T10:30:00.123Z, the example timestamp of the contract.
inline const std::chrono::system_clock::time_point contract_time =
    std::chrono::sys_days{std::chrono::year{2026} / 1 / 3} + std::chrono::hours{10} + std::chrono::minutes{30} +
    std::chrono::milliseconds{123};
inline constexpr std::string_view contract_time_text = "2026-01-03T10:30:00.123Z";

struct event {
  protocol::task_event e;

  event(protocol::task_action action, std::string owner, std::string key, std::chrono::system_clock::time_point updated_at) {
    e.action = action;
    e.owner = std::move(owner);
    e.task_key = key;
    e.task_id = boost::json::value(key);
    e.updated_at = updated_at;
    e.task = boost::json::object{{"id", key}, {"status", false}, {"priority", "medium"}};
  }
  event& shared(std::vector<std::string> users) {
    std::sort(users.begin(), users.end());
    e.shared_with = std::move(users);
    e.sets_audience = true;
    return *this;
  }
  event& completed(bool done = true) {
    e.completed = done;
    e.task["status"] = done;
    return *this;
  }
  event& title(std::string_view text) {
    e.task["title"] = boost::json::string_view(text.data(), text.size());
    return *this;
  }
  operator protocol::task_event() const { return e; }
};

inline event created(std::string owner, std::string key, std::chrono::system_clock::time_point at) {
  return {protocol::task_action::created, std::move(owner), std::move(key), at};
}
inline event updated(std::string owner, std::string key, std::chrono::system_clock::time_point at) {
  return {protocol::task_action::updated, std::move(owner), std::move(key), at};
}
inline event deleted(std::string owner, std::string key, std::chrono::system_clock::time_point at) {
  return {protocol::task_action::deleted, std::move(owner), std::move(key), at};
}

}  // namespace dh::test
