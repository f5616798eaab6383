// core_bus_test.cpp — the in-process bus: committed batches reach the hub's subscription once
// each, in the order they were published; it takes one subscriber.
#include "core/bus.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

namespace core_bus_test {  // unity builds compile several test files as one unit

using dh::core::apply_result;
using dh::core::bus;
using dh::core::local_bus;

TEST_CASE("local_bus hands every batch to its subscriber, in order") {
  local_bus b;
  std::vector<const apply_result*> seen;
  b.subscribe([&](bus::batch committed) { seen.push_back(committed.get()); }, {});
  std::vector<bus::batch> published;
  for (int i = 0; i < 3; ++i) {
    published.push_back(std::make_shared<const apply_result>());
    b.publish(published.back());
  }
  REQUIRE(seen.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(seen[i] == published[i].get());
}

TEST_CASE("local_bus refuses a second subscriber") {
  local_bus b;
  b.subscribe([](bus::batch) {}, {});
  CHECK_THROWS_AS(b.subscribe([](bus::batch) {}, {}), std::logic_error);
}

}  // namespace core_bus_test
