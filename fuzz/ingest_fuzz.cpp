// ingest_fuzz.cpp — libFuzzer target: one POST /api/v1/events body through the ingest parser,
// in all three shapes (native, seed 004, CloudEvents 1.0, alone or in arrays). Any body must
// parse whole or be refused whole with field errors; never crash.
#include "protocol/ingest.hpp"
#include "protocol/task_event.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  // A fixed clock: the same input takes the same path on every run.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'767'225'600));
  const dh::protocol::ingest_limits limits{.max_events = 64, .max_string_bytes = 1024};
  const auto parsed = dh::protocol::parse_ingest(body, now, limits);
  if (parsed) {
    if (parsed->empty() || parsed->size() > limits.max_events) std::abort();
    for (const auto& event : *parsed) {
      if (event.owner.empty() || event.task_key.empty()) std::abort();
      // The owner is never in its own audience, which is sorted and unique (the store relies on it).
      for (std::size_t i = 0; i < event.shared_with.size(); ++i) {
        if (event.shared_with[i] == event.owner) std::abort();
        if (i > 0 && !(event.shared_with[i - 1] < event.shared_with[i])) std::abort();
      }
      (void)dh::protocol::task_json_of(event);  // what the hub will send must serialise
    }
  } else if (parsed.error().empty()) {
    std::abort();  // a refusal names at least one field
  }
  return 0;
}
