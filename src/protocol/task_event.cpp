#include "protocol/task_event.hpp"

#include <boost/json/serialize.hpp>

namespace dh::protocol {

std::string_view to_string(task_action a) noexcept {
  switch (a) {
    case task_action::created: return "created";
    case task_action::updated: return "updated";
    case task_action::deleted: return "deleted";
  }
  return "updated";
}

std::string encode_task_update_payload(task_action action, const boost::json::value& task_id,
                                       const boost::json::object& task) {
  const auto name = to_string(action);
  boost::json::object payload;
  payload.reserve(3);
  payload.emplace("taskId", task_id);
  payload.emplace("action", boost::json::string_view(name.data(), name.size()));
  payload.emplace("task", task);
  return boost::json::serialize(payload);
}

}  // namespace dh::protocol
