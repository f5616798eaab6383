// paths.cpp — the absolute paths of paths.hpp, from CMake (tests/CMakeLists.txt). Kept out of every
// other unit: a path in a unit's compile makes a fresh clone elsewhere miss ccache for it.
#include "support/paths.hpp"

namespace dh::test {

const char* const binary_path = DH_BINARY;
const char* const test_data_dir = DH_TEST_DATA;
const char* const source_dir = DH_SOURCE_DIR;

}  // namespace dh::test
