#include "support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dh::test {

namespace {

using clock = std::chrono::steady_clock;

struct spawned {
  int pid;
  int out_fd;
  int err_fd;
};

// `stderr_to`: nullopt pipes stderr back, "" discards it, a path writes it there.
spawned spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              const std::optional<std::string>& stderr_to = std::nullopt) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  if (stderr_to)
    posix_spawn_file_actions_addopen(&actions, 2, stderr_to->empty() ? "/dev/null" : stderr_to->c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  else
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // Sockets the test holds (Asio does not open them close-on-exec) must not live on in the
  // child: a client closed by the test would stay open for the server it talks to.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    if (!env.contains(name) && !name.starts_with("DASHBOARD_")) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp, argv;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_copy(args);
  for (auto& a : arg_copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
  return {pid, out[0], err[0]};
}

// Waits for the child until `deadline`; kills it past that. Returns the exit code or -1.
int reap(int pid, clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    ::poll(nullptr, 0, 10);
  }
}

}  // namespace

run_result run_binary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                      std::chrono::milliseconds timeout) {
  auto child = spawn(args, env);
  run_result result;
  const auto deadline = clock::now() + timeout;
  pollfd fds[2] = {{child.out_fd, POLLIN, 0}, {child.err_fd, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0 && clock::now() < deadline) {
    if (::poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  result.exit_code = reap(child.pid, deadline);
  return result;
}

child_process::child_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                             const std::string& stderr_path) {
  auto child = spawn(args, env, stderr_path);
  pid_ = child.pid;
  out_fd_ = child.out_fd;
  ::close(child.err_fd);
}

child_process::~child_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  for (;;) {
    if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
      auto line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return std::nullopt;
    pollfd fd{out_fd_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    const auto n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

void child_process::signal(int sig) { ::kill(pid_, sig); }

int child_process::wait(std::chrono::milliseconds timeout) {
  const int code = reap(pid_, clock::now() + timeout);
  pid_ = -1;
  return code;
}

}  // namespace dh::test
