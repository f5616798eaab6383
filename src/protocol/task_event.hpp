// task_event.hpp — a producer's task change after ingest parsing, whatever shape it came in
// (native, seed-004 or CloudEvents), and the task_update payload clients receive. Pure data.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace dh::protocol {

enum class task_action { created, updated, deleted };

std::string_view to_string(task_action a) noexcept;

struct task_event {
  task_action action = task_action::updated;
  std::string owner;                     // canonical user id of the task's owner
  std::vector<std::string> shared_with;  // sorted, unique, without the owner
  bool sets_audience = false;            // the event named sharedWith; otherwise the stored audience stays
  std::string task_key;                  // canonical text of the task id: the store key
  boost::json::value task_id;            // the id as the producer wrote it (number or string)
  boost::json::object task;              // contract task object: id, status, updatedAt, fields as given
  bool completed = false;
  std::chrono::system_clock::time_point updated_at{};
  // The id and task as serialised when the event was first accepted, if known (an event replayed
  // from the store's log): reused as they are, so a replay writes the very bytes clients got.
  std::string task_id_text, task_text;
};

// The id and the task serialised: the kept text if there is one, else serialised now.
std::string task_id_json_of(const task_event& e);
std::string task_json_of(const task_event& e);

// The `task_update` payload {taskId, action, task}, from the id and the task already serialised
// (once per event, whatever the number of users and sessions it reaches).
std::string encode_task_update_payload(task_action action, std::string_view task_id_json, std::string_view task_json);

}  // namespace dh::protocol
