#include "protocol/ingest.hpp"

#include "protocol/strict_json.hpp"
#include "protocol/timestamp.hpp"
#include "protocol/user_id.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace dh::protocol {
namespace json = boost::json;
using std::chrono::system_clock;

namespace {

constexpr std::size_t max_task_id_bytes = 128;
constexpr std::size_t max_audience = 1000;

// Collects the errors of one event; `path` prefixes every field name.
class checker {
 public:
  checker(std::vector<field_error>& errors, std::string path, const ingest_limits& limits)
      : errors_(errors), path_(std::move(path)), limits_(limits) {}

  void fail(std::string_view field, std::string message) {
    std::string name = path_.empty() ? std::string(field) : field.empty() ? path_ : fmt::format("{}.{}", path_, field);
    errors_.push_back({name.empty() ? std::string("body") : std::move(name), std::move(message)});
  }
  checker nested(std::string_view field) const {
    return checker(errors_, path_.empty() ? std::string(field) : fmt::format("{}.{}", path_, field), limits_);
  }
  std::size_t error_count() const noexcept { return errors_.size(); }
  const ingest_limits& limits() const noexcept { return limits_; }

  std::optional<std::string> user_id(const json::object& o, std::string_view field) {
    const auto* v = o.if_contains(field);
    if (v == nullptr) {
      fail(field, "is required");
      return std::nullopt;
    }
    auto id = user_id_from_json(*v);
    if (!id || !is_valid_user_id(*id)) {
      fail(field, "must be a user id matching [A-Za-z0-9._-]{1,64}");
      return std::nullopt;
    }
    return id;
  }

 private:
  std::vector<field_error>& errors_;
  std::string path_;
  const ingest_limits& limits_;
};

struct action_spec {
  task_action action;
  std::optional<bool> implied_status;  // task.completed / reopened say what the status becomes
};

std::optional<action_spec> action_from(std::string_view name) {
  if (name == "created") return action_spec{task_action::created, std::nullopt};
  if (name == "updated") return action_spec{task_action::updated, std::nullopt};
  if (name == "deleted") return action_spec{task_action::deleted, std::nullopt};
  if (name == "completed") return action_spec{task_action::updated, true};
  if (name == "reopened") return action_spec{task_action::updated, false};
  return std::nullopt;
}

void read_audience(checker& c, const json::object& o, task_event& e) {
  const json::value* list = o.if_contains("sharedWith");
  std::string_view field = "sharedWith";
  if (list == nullptr) {
    list = o.if_contains("shared_with");
    field = "shared_with";
  }
  if (list == nullptr || list->is_null()) return;
  const auto* arr = list->if_array();
  if (arr == nullptr) return c.fail(field, "must be an array of user ids");
  if (arr->size() > max_audience) return c.fail(field, fmt::format("holds more than {} users", max_audience));
  e.sets_audience = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto id = user_id_from_json((*arr)[i]);
    if (!id || !is_valid_user_id(*id)) {
      c.fail(fmt::format("{}[{}]", field, i), "must be a user id matching [A-Za-z0-9._-]{1,64}");
      continue;
    }
    e.shared_with.push_back(std::move(*id));
  }
  std::sort(e.shared_with.begin(), e.shared_with.end());
  e.shared_with.erase(std::unique(e.shared_with.begin(), e.shared_with.end()), e.shared_with.end());
}

void read_task_id(checker& c, const json::value& id, task_event& e) {
  if (const auto* s = id.if_string(); s != nullptr && !s->empty() && s->size() <= max_task_id_bytes) {
    e.task_key = std::string(*s);
  } else if (id.is_int64() && id.get_int64() >= 0) {
    e.task_key = std::to_string(id.get_int64());
  } else if (id.is_uint64()) {
    e.task_key = std::to_string(id.get_uint64());
  } else {
    return c.fail("task.id", fmt::format("must be a non-negative integer or a string of 1..{} bytes", max_task_id_bytes));
  }
  e.task_id = id;
}

// Builds the contract's task object: aliases of the seed-004 shape are renamed, the status and
// updatedAt are typed, every other field is passed through as given (strings size-capped).
void read_task(checker& c, const json::object& task, const action_spec& spec, system_clock::time_point now,
               task_event& e) {
  const auto* id = task.if_contains("id");
  if (id == nullptr) return c.fail("task.id", "is required");
  read_task_id(c, *id, e);

  std::optional<bool> status = spec.implied_status;
  std::optional<system_clock::time_point> updated_at;
  json::object out;
  out.reserve(task.size() + 2);
  for (const auto& [key, value] : task) {
    const std::string_view name = key;
    if (name == "status" || name == "completed") {
      if (!value.is_bool()) {
        c.fail(fmt::format("task.{}", name), "must be a boolean");
        continue;
      }
      if (!spec.implied_status) status = value.get_bool();
      continue;
    }
    if (name == "updatedAt" || name == "updated_at") {
      const auto* text = value.if_string();
      auto parsed = text ? parse_timestamp(*text) : std::nullopt;
      if (!parsed) {
        c.fail(fmt::format("task.{}", name), "must be an ISO-8601 timestamp with a zone");
        continue;
      }
      updated_at = parsed;
      continue;
    }
    if (const auto* s = value.if_string(); s != nullptr && s->size() > c.limits().max_string_bytes) {
      c.fail(fmt::format("task.{}", name), fmt::format("is longer than {} bytes", c.limits().max_string_bytes));
      continue;
    }
    out.emplace(key, value);
  }
  e.completed = status.value_or(false);
  e.updated_at = updated_at.value_or(now);
  out["id"] = e.task_id;
  out["status"] = e.completed;
  out["updatedAt"] = format_timestamp(e.updated_at);
  e.task = std::move(out);
}

std::optional<task_event> read_shaped_event(checker& c, const json::object& o, std::string_view action_field,
                                            std::string_view action_name, std::string_view owner_field,
                                            system_clock::time_point now) {
  const auto before = c.error_count();
  task_event e;
  const auto spec = action_from(action_name);
  if (!spec) c.fail(action_field, fmt::format("unknown action '{}'", action_name.substr(0, 64)));
  if (auto owner = c.user_id(o, owner_field)) e.owner = std::move(*owner);
  read_audience(c, o, e);
  std::erase(e.shared_with, e.owner);
  const auto* task = o.if_contains("task");
  if (task == nullptr || !task->is_object()) {
    c.fail("task", "must be an object");
  } else if (spec) {
    e.action = spec->action;
    read_task(c, task->get_object(), *spec, now, e);
  }
  if (c.error_count() != before) return std::nullopt;
  return e;
}

std::optional<task_event> read_event(checker& c, const json::value& v, system_clock::time_point now,
                                     std::string_view fallback_type = {});

std::optional<task_event> read_cloudevent(checker& c, const json::object& o, system_clock::time_point now) {
  const auto* version = o.if_contains("specversion");
  if (version == nullptr || !version->is_string() || version->get_string() != "1.0") {
    c.fail("specversion", "must be \"1.0\"");
    return std::nullopt;
  }
  const auto* data = o.if_contains("data");
  if (data == nullptr) {
    c.fail("data", o.contains("data_base64") ? "data_base64 is not supported; send JSON data" : "is required");
    return std::nullopt;
  }
  std::string_view type;
  if (const auto* t = o.if_contains("type"); t != nullptr && t->is_string()) type = t->get_string();
  // Dapr wraps the producer's event in `data`; the CloudEvent's own type may carry task.created etc.
  const auto* data_object = data->if_object();
  if (data_object == nullptr) {
    c.fail("data", "must be a JSON object");
    return std::nullopt;
  }
  const bool data_names_action =
      data_object->contains("action") || data_object->contains("event_type") || data_object->contains("specversion");
  if (!data_names_action && type.starts_with("task.") && !action_from(type.substr(5))) {
    c.fail("type", fmt::format("unknown action '{}'", type.substr(5, 64)));  // the envelope's own field
    return std::nullopt;
  }
  checker inner = c.nested("data");
  return read_event(inner, *data, now, type);
}

std::optional<task_event> read_event(checker& c, const json::value& v, system_clock::time_point now,
                                     std::string_view fallback_type) {
  const auto* o = v.if_object();
  if (o == nullptr) {
    c.fail("", "must be a JSON object");
    return std::nullopt;
  }
  if (o->contains("specversion")) return read_cloudevent(c, *o, now);
  if (const auto* type = o->if_contains("event_type")) {
    if (!type->is_string() || !type->get_string().starts_with("task.")) {
      c.fail("event_type", "must be task.created, task.updated, task.completed or task.deleted");
      return std::nullopt;
    }
    return read_shaped_event(c, *o, "event_type", std::string_view(type->get_string()).substr(5), "user_id", now);
  }
  if (const auto* action = o->if_contains("action")) {
    if (!action->is_string()) {
      c.fail("action", "must be created, updated or deleted");
      return std::nullopt;
    }
    return read_shaped_event(c, *o, "action", action->get_string(), "userId", now);
  }
  if (fallback_type.starts_with("task.")) {
    const auto* owner_field = o->contains("user_id") ? "user_id" : "userId";
    return read_shaped_event(c, *o, "type", fallback_type.substr(5), owner_field, now);
  }
  c.fail("action", "is required (or event_type, or a CloudEvent with specversion)");
  return std::nullopt;
}

}  // namespace

ingest_result parse_ingest(std::string_view body, system_clock::time_point now, const ingest_limits& limits) {
  std::vector<field_error> errors;
  auto parsed = parse_strict_json(body);
  if (!parsed) {
    const auto& refusal = parsed.error();
    if (refusal.path.empty())
      errors.push_back({"body", fmt::format("is not valid JSON: {}", refusal.message)});
    else
      errors.push_back({refusal.path, refusal.message});
    return errors;
  }
  const json::value doc = std::move(*parsed);
  std::vector<task_event> events;
  if (const auto* arr = doc.if_array()) {
    if (arr->empty()) errors.push_back({"body", "holds no events"});
    if (arr->size() > limits.max_events)
      errors.push_back({"body", fmt::format("holds more than {} events", limits.max_events)});
    if (!errors.empty()) return errors;
    events.reserve(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i) {
      checker c(errors, fmt::format("[{}]", i), limits);
      if (auto e = read_event(c, (*arr)[i], now)) events.push_back(std::move(*e));
    }
  } else {
    checker c(errors, "", limits);
    if (auto e = read_event(c, doc, now)) events.push_back(std::move(*e));
  }
  if (!errors.empty()) return errors;
  return events;
}

}  // namespace dh::protocol
