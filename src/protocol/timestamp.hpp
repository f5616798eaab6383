// timestamp.hpp — ISO-8601 UTC timestamps with milliseconds ("2026-01-03T10:30:00.123Z"),
// the only time format on the wire. Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dh::protocol {

std::string format_timestamp(std::chrono::system_clock::time_point t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)"; returns nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view text);

}  // namespace dh::protocol
