// temp_dir.hpp — a fresh directory under the system temp dir for a test, removed with everything
// in it at scope exit. Test-only, header-only.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace dh::test {

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& prefix) {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / (prefix + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace dh::test
