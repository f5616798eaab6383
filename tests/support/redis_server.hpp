// redis_server.hpp — a real redis-server (Debian's) for the tests: a child process on 127.0.0.1,
// a free port and a temp dir, no persistence, stopped with the object. Test-only.
#pragma once

#include "support/process.hpp"

#include <cstdint>
#include <filesystem>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dh::test {

class redis_server {
 public:
  enum class persistence { none, every_write };

  // Starts it and returns once it accepts connections; throws if it cannot. With every_write,
  // each write is in the append-only file before Redis answers, so a SIGKILL loses nothing.
  explicit redis_server(persistence p = persistence::none);
  // With more redis-server arguments, e.g. {"--replicaof", "127.0.0.1", "6400"}.
  redis_server(persistence p, std::vector<std::string> extra_args);
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
  std::vector<std::string> extra_args_;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

// A master, two replicas and three Sentinels watching them as "mymaster" (quorum 2, down after
// 1 s), all on loopback; returns once the sentinels know the replicas and each other.
class redis_sentinel_set {
 public:
  redis_sentinel_set();
  ~redis_sentinel_set();
  redis_sentinel_set(const redis_sentinel_set&) = delete;
  redis_sentinel_set& operator=(const redis_sentinel_set&) = delete;

  static constexpr const char* master_name = "mymaster";
  // "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3", as --redis-sentinel takes it.
  std::string sentinel_list() const;
  std::vector<std::uint16_t> sentinel_ports() const;
  // The master's port as the first sentinel names it.
  std::uint16_t master_port() const;
  // The redis-server on `port` (the master or a replica).
  redis_server& server_on(std::uint16_t port);
  // SIGKILL of that redis-server (it stays down).
  void kill(std::uint16_t port);
  // Until every sentinel names a master other than `old_port` that says it is one (ROLE), and
  // the old one is a replica or gone; the new master's port, or 0 after `timeout`.
  std::uint16_t wait_for_new_master(std::uint16_t old_port, std::chrono::seconds timeout = std::chrono::seconds(30));

 private:
  std::vector<std::unique_ptr<redis_server>> servers_;
  std::vector<std::uint16_t> sentinel_ports_;
  std::vector<std::unique_ptr<child_process>> sentinels_;
  std::filesystem::path dir_;
};

// One redis-server for this test process, started on first use. Each ctest case is its own
// process, so cases do not share data.
redis_server& shared_redis();

// Whether the suite runs its contract tests against Redis mode (DH_TEST_BACKEND=redis).
bool redis_mode();

}  // namespace dh::test
