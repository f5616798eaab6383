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

std::string task_id_json_of(const task_event& e) {
  return e.task_id_text.empty() ? boost::json::serialize(e.task_id) : e.task_id_text;
}

std::string task_json_of(const task_event& e) {
  return e.task_text.empty() ? boost::json::serialize(e.task) : e.task_text;
}

std::string encode_task_update_payload(task_action action, std::string_view task_id_json, std::string_view task_json) {
  const auto name = to_string(action);
  std::string out;
  out.reserve(task_id_json.size() + task_json.size() + 40);
  out.append(R"({"taskId":)").append(task_id_json);
  out.append(R"(,"action":")").append(name).append(R"(","task":)");
  out.append(task_json).append("}");
  return out;
}

}  // namespace dh::protocol
