// process.hpp — runs the real dashboard-hub binary as a child process with pipes, for the
// command-line and end-to-end tests. Test-only; POSIX.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dh::test {

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs to completion (killed after `timeout`). `env` is added to the inherited environment.
run_result run_binary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A long-running child: read its stdout line by line, signal it, wait for it.
class child_process {
 public:
  // `stderr_path`: where the child's stderr (its log) goes; empty discards it.
  child_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                const std::string& stderr_path = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The next stdout line, or nullopt at EOF or after `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void signal(int sig);
  int pid() const noexcept { return pid_; }
  // The exit code, or -1 if it had to be killed after `timeout`.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string pending_;
};

}  // namespace dh::test
