// paths.hpp — where the tests find the built binary, their data files and the source tree. Set by
// CMake in paths.cpp alone, so that no other test unit's compile depends on the checkout's path.
#pragma once

namespace dh::test {

extern const char* const binary_path;     // the built dashboard-hub
extern const char* const test_data_dir;   // tests/data
extern const char* const source_dir;      // the top of the source tree

}  // namespace dh::test
