// metrics_text.hpp — renders core::metrics as Prometheus's text exposition format, through
// prometheus-cpp's serializer, for GET /metrics. A pure function: testable without a socket.
#pragma once

#include "core/metrics.hpp"

#include <cstddef>
#include <string>

namespace dh::net {

// What is read off the hub at scrape time rather than counted.
struct metrics_gauges {
  std::size_t connections = 0;
  std::size_t users = 0;
};

std::string render_metrics(const core::metrics& m, const metrics_gauges& gauges);

}  // namespace dh::net
