// duration.hpp — the flag syntax for durations (SPEC §4): plain seconds ("600") or a number with
// a unit suffix ("500ms", "10s", "10m", "1h"). Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace dh::app {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace dh::app
