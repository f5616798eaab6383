// http_connection_fuzz.cpp — libFuzzer target: a connection's bytes as a client sends them
// (requests, pipelined or not, bodies, upgrades and whatever follows) through the real server.
#include "connection.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dh::fuzz::run_connection({}, {reinterpret_cast<const char*>(data), size});
  return 0;
}
