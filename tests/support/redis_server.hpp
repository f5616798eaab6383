// redis_server.hpp — a real redis-server (Debian's) for the tests: a child process on 127.0.0.1,
// a free port and a temp dir, no persistence, stopped with the object. Test-only.
#pragma once

#include "support/process.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace dh::test {

class redis_server {
 public:
  enum class persistence { none, every_write };

  // Starts it and returns once it accepts connections; throws if it cannot. With every_write,
  // each write is in the append-only file before Redis answers, so a SIGKILL loses nothing.
  explicit redis_server(persistence p = persistence::none);
  // On this port (known to be free), e.g. one a client is already retrying.
  explicit redis_server(std::uint16_t port);
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const;
  // SIGKILL (an outage), and a new, empty redis-server on the same port (a restart without
  // persistence; start() returns once it accepts connections, or throws).
  void stop();
  void start();

 private:
  void try_start();

  std::filesystem::path dir_;
  persistence persistence_ = persistence::none;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

// One redis-server for this test process, started on first use. Each ctest case is its own
// process, so cases do not share data.
redis_server& shared_redis();

// Whether the suite runs its contract tests against Redis mode (DH_TEST_BACKEND=redis).
bool redis_mode();

}  // namespace dh::test
