// store.hpp — what the gateway keeps: tasks, their audiences, per-user statistics and a bounded
// per-user event history. An interface (embedded SQLite, in-memory for tests); every call
// blocks, so callers run it off the network threads (core/blocking.hpp).
#pragma once

#include "core/clock.hpp"
#include "protocol/task_event.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dh::core {

struct user_stats {
  std::int64_t total = 0;
  std::int64_t completed = 0;
  wall_time updated_at{};
  std::uint64_t last_event_id = 0;
};

// A user no event has reached yet has statistics as of now (the contract's lastUpdated).
inline wall_time last_updated(const user_stats& s, wall_time now) {
  return s.updated_at == wall_time{} ? now : s.updated_at;
}

// One applied event as one user of its audience sees it.
struct audience_update {
  std::string user;
  std::uint64_t event_id = 0;
  protocol::task_action action = protocol::task_action::updated;
};

struct applied_event {
  bool applied = false;  // false: older than the stored task (last writer wins by updatedAt)
  std::string task_key;
  boost::json::value task_id;
  std::string task_id_json;                      // task_id and the task serialised once, for history,
  std::shared_ptr<const std::string> task_json;  // fan-out and the store: never again per user
  std::vector<audience_update> audience;
};

struct apply_result {
  std::vector<applied_event> events;                      // one per request event, in order
  std::vector<std::pair<std::string, user_stats>> stats;  // every user an event reached, after the batch
  wall_time accepted{};  // when ingest accepted the batch's first request; the epoch when unknown
};

struct history_entry {
  std::uint64_t event_id = 0;
  std::string payload;  // the task_update payload, serialised
};

struct history_page {
  std::vector<history_entry> entries;  // event ids after the requested one, increasing
  bool complete = false;               // history still held every event after the requested id
  std::uint64_t last_event_id = 0;     // the user's newest event id
};

struct history_settings {
  std::size_t max_events = 10'000;  // per user
  std::chrono::milliseconds max_age{24 * 3600 * 1000};
};

class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store cannot be reached now (Redis down or reconnecting): nothing of the call was done,
// or, for a write whose connection broke before the reply, its outcome is unknown. Try again.
class store_unavailable : public store_error {
 public:
  using store_error::store_error;
};

// What the store guarantees and where it stands, for the log and /status.
struct store_report {
  std::string backend;     // "memory", "sqlite" or "redis"
  std::string durability;  // what a 202 guarantees, in one sentence
  std::uint64_t epoch = 0;       // Redis: the store's epoch number (0: none yet)
  std::uint64_t epoch_base = 0;  // Redis: every id of the epoch is above this
};

class store {
 public:
  virtual ~store() = default;
  // All or nothing: either every event is durable or none is (then store_error is thrown).
  virtual apply_result apply(const std::vector<protocol::task_event>& events, wall_time now) = 0;
  virtual user_stats stats(const std::string& user) = 0;
  virtual history_page history(const std::string& user, std::uint64_t after, std::size_t limit, wall_time now) = 0;
  // False once the store cannot take writes any more (for /ready); any thread.
  virtual bool available() const noexcept { return true; }
  virtual store_report report() const { return {"memory", "in memory only: everything is lost when the process ends"}; }
};

}  // namespace dh::core
