#include "support/redis_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <csignal>
#include <cstdlib>
#include <random>
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
  auto p = std::make_unique<child_process>(std::vector<std::string>{
      "/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
      "--appendonly", aof ? "yes" : "no", "--appendfsync", "always", "--dir", dir_.string(), "--loglevel",
      "notice"});
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

redis_server& shared_redis() {
  static redis_server server;
  return server;
}

bool redis_mode() {
  const char* backend = std::getenv("DH_TEST_BACKEND");
  return backend != nullptr && std::string(backend) == "redis";
}

}  // namespace dh::test
