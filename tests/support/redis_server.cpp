#include "support/redis_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>
#include <stdexcept>

namespace dh::test {

namespace {

std::uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

std::filesystem::path make_dir() {
  std::random_device random;
  auto dir = std::filesystem::temp_directory_path() / ("dh-redis-" + std::to_string(random()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

redis_server::redis_server(persistence p) : dir_(make_dir()), persistence_(p) {
  // The port is free when picked; another process may take it before redis binds, so retry.
  for (int attempt = 0; attempt < 5 && !process_; ++attempt) {
    port_ = free_port();
    try_start();
  }
  if (!process_) throw std::runtime_error("redis-server did not start (is Debian's redis-server installed?)");
}

redis_server::redis_server(persistence p, std::vector<std::string> extra_args)
    : dir_(make_dir()), persistence_(p), extra_args_(std::move(extra_args)) {
  for (int attempt = 0; attempt < 5 && !process_; ++attempt) {
    port_ = free_port();
    try_start();
  }
  if (!process_) throw std::runtime_error("redis-server did not start (is Debian's redis-server installed?)");
}

redis_server::redis_server(std::uint16_t port) : dir_(make_dir()), port_(port) { start(); }

redis_server::~redis_server() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string redis_server::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

void redis_server::start() {
  if (process_) return;
  try_start();
  if (!process_) throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_));
}

void redis_server::try_start() {
  const bool aof = persistence_ == persistence::every_write;
  // setpriv --pdeathsig: a test that crashes takes its redis-server with it.
  std::vector<std::string> args{
      "/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
      "--appendonly", aof ? "yes" : "no", "--appendfsync", "always", "--dir", dir_.string(), "--loglevel",
      "notice"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  auto p = std::make_unique<child_process>(args);
  // Ready when it says so on stdout (its log); EOF means it exited (the port was taken).
  for (;;) {
    auto line = p->read_line(std::chrono::seconds(10));
    if (!line) {
      p->signal(SIGKILL);
      (void)p->wait(std::chrono::seconds(5));
      return;
    }
    if (line->find("Ready to accept connections") != std::string::npos) break;
  }
  process_ = std::move(p);
}

void redis_server::stop() {
  if (!process_) return;
  process_->signal(SIGKILL);
  (void)process_->wait(std::chrono::seconds(5));
  process_.reset();
}

namespace {

// One redis-cli command's output lines (its exit code is not checked: a dead server says nothing).
std::vector<std::string> cli(std::uint16_t port, std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/redis-cli", "-p", std::to_string(port)});
  const auto r = run_binary(args, {}, std::chrono::seconds(5));
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool poll_until(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::size_t count_of(const std::vector<std::string>& lines, std::string_view field) {
  for (const auto& line : lines)
    if (line.starts_with(field)) return std::stoul(line.substr(field.size()));
  return 0;
}

}  // namespace

redis_sentinel_set::redis_sentinel_set() : dir_(make_dir()) {
  servers_.push_back(std::make_unique<redis_server>(redis_server::persistence::none, std::vector<std::string>{}));
  const auto master = servers_[0]->port();
  for (int i = 0; i < 2; ++i)
    servers_.push_back(std::make_unique<redis_server>(
        redis_server::persistence::none, std::vector<std::string>{"--replicaof", "127.0.0.1", std::to_string(master)}));
  // Sentinel learns the replicas from the master's INFO: they are connected before it starts.
  if (!poll_until([&] { return count_of(cli(master, {"INFO", "replication"}), "connected_slaves:") == 2; },
                  std::chrono::seconds(20)))
    throw std::runtime_error("the replicas did not connect to the master");
  for (int i = 0; i < 3; ++i) {
    const auto port = free_port();
    const auto conf = dir_ / ("sentinel-" + std::to_string(i) + ".conf");
    std::ofstream(conf) << "port " << port << "\nbind 127.0.0.1\ndir " << dir_.string() << "\n"
                        << "sentinel monitor " << master_name << " 127.0.0.1 " << master << " 2\n"
                        << "sentinel down-after-milliseconds " << master_name << " 1000\n"
                        << "sentinel failover-timeout " << master_name << " 10000\n"
                        << "sentinel parallel-syncs " << master_name << " 1\n";
    sentinels_.push_back(std::make_unique<child_process>(std::vector<std::string>{
        "/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "/usr/bin/redis-sentinel", conf.string()}));
    sentinel_ports_.push_back(port);
  }
  // A failover needs a majority that knows the others (hello messages, every 2 s) and a replica
  // to promote.
  for (const auto port : sentinel_ports_) {
    const bool ready = poll_until(
        [&] {
          const auto info = cli(port, {"INFO", "sentinel"});
          for (const auto& line : info)
            if (line.find("name=mymaster,status=ok") != std::string::npos &&
                line.find("slaves=2,sentinels=3") != std::string::npos)
              return true;
          return false;
        },
        std::chrono::seconds(30));
    if (!ready) throw std::runtime_error("sentinel on port " + std::to_string(port) + " did not see the whole set");
  }
}

redis_sentinel_set::~redis_sentinel_set() {
  for (auto& s : sentinels_) {
    s->signal(SIGKILL);
    (void)s->wait(std::chrono::seconds(5));
  }
  servers_.clear();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string redis_sentinel_set::sentinel_list() const {
  std::string out;
  for (const auto port : sentinel_ports_) out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
  return out;
}

std::vector<std::uint16_t> redis_sentinel_set::sentinel_ports() const { return sentinel_ports_; }

std::uint16_t redis_sentinel_set::master_port() const {
  const auto addr = cli(sentinel_ports_[0], {"SENTINEL", "get-master-addr-by-name", master_name});
  return addr.size() == 2 ? static_cast<std::uint16_t>(std::stoul(addr[1])) : 0;
}

redis_server& redis_sentinel_set::server_on(std::uint16_t port) {
  for (auto& s : servers_)
    if (s->port() == port) return *s;
  throw std::runtime_error("no redis-server of the set on port " + std::to_string(port));
}

void redis_sentinel_set::kill(std::uint16_t port) { server_on(port).stop(); }

std::uint16_t redis_sentinel_set::wait_for_new_master(std::uint16_t old_port, std::chrono::seconds timeout) {
  std::uint16_t found = 0;
  poll_until(
      [&] {
        std::uint16_t agreed = 0;
        for (const auto port : sentinel_ports_) {
          const auto addr = cli(port, {"SENTINEL", "get-master-addr-by-name", master_name});
          if (addr.size() != 2) return false;
          const auto named = static_cast<std::uint16_t>(std::stoul(addr[1]));
          if (named == old_port || (agreed != 0 && named != agreed)) return false;
          agreed = named;
        }
        const auto role = cli(agreed, {"ROLE"});
        if (role.empty() || role[0] != "master") return false;
        // Until the old master is demoted (or dead) it still takes writes.
        const auto old_role = cli(old_port, {"ROLE"});
        if (!old_role.empty() && old_role[0] == "master") return false;
        found = agreed;
        return true;
      },
      timeout);
  return found;
}

redis_server& shared_redis() {
  static redis_server server;
  return server;
}

bool redis_mode() {
  const char* backend = std::getenv("DH_TEST_BACKEND");
  return backend != nullptr && std::string(backend) == "redis";
}

}  // namespace dh::test
