// log_codec.hpp — one committed group of ingest events as bytes in the event log and back:
// the group's sequence number, the time it was applied at and its events, exactly as ingest
// parsed them, so replaying a record through the task rules reproduces the same effects.
#pragma once

#include "core/clock.hpp"
#include "protocol/task_event.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dh::store {

struct log_group {
  std::uint64_t seq = 0;
  core::wall_time now{};
  std::vector<protocol::task_event> events;
};

// Appends the group's body (no framing) to `out`.
void encode_group(std::uint64_t seq, core::wall_time now, const std::vector<protocol::task_event>& events,
                  std::string& out);
// Throws core::store_error when `body` is not a group this codec wrote.
log_group decode_group(std::string_view body);

}  // namespace dh::store
