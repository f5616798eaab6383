// ingest.hpp — parses a POST /api/v1/events body into task events: one event or an array, in the
// native shape, the seed-004 shape or a CloudEvents 1.0 envelope of either. All or nothing:
// every bad field is reported, and a body with any is rejected whole. Pure functions.
#pragma once

#include "protocol/task_event.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace dh::protocol {

struct field_error {
  std::string field;  // a path such as "[2].task.id"
  std::string message;
};

struct ingest_limits {
  std::size_t max_events = 1000;
  std::size_t max_string_bytes = 16 * 1024;  // per task string field
};

using ingest_result = boost::system::result<std::vector<task_event>, std::vector<field_error>>;

// `now` stamps events whose task carries no updatedAt.
ingest_result parse_ingest(std::string_view body, std::chrono::system_clock::time_point now,
                           const ingest_limits& limits = {});

}  // namespace dh::protocol
