#include "store/redis_backend.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <random>
#include <unistd.h>

namespace dh::store {

namespace asio = boost::asio;

std::string make_instance_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device random;
  return fmt::format("{}-{}-{:08x}", host, ::getpid(), random());
}

redis_backend::redis_backend(redis_settings settings, core::admission_settings admission, const core::logger& log)
    : work_(ioc_.get_executor()),
      sentinel_(settings.sentinels.empty() ? nullptr
                                           : std::make_unique<redis_sentinel>(ioc_.get_executor(), settings.sentinels,
                                                                              settings.master_name, log, settings.timing)),
      commands_(ioc_.get_executor(), settings.endpoint, "commands", log, settings.timing),
      reader_(ioc_.get_executor(), settings.endpoint, "bus", log, settings.timing),
      bus_(reader_, settings.store.prefix, instance_, epoch_, log),
      events_(commands_, bus_, epoch_, settings.store, log),
      admission_(commands_, admission, {settings.store.prefix, instance_, settings.lease_ttl}, log) {
  commands_.on_setup([this](redis_client& c) -> asio::awaitable<void> {
    co_await events_.set_up(c);
    co_await admission_.load_scripts(c);
    // A failover that left the bus reader on the old master (now a replica, reading late) moves
    // it too, and its sessions hear the bus go and come back.
    if (sentinel_) reader_.leave_unless_at(c.endpoint());
  });
  commands_.on_state([this](bool up) {
    if (up) events_.connected();
  });
  if (sentinel_) {
    commands_.on_locate([this] { return sentinel_->locate(); });
    reader_.on_locate([this] { return sentinel_->locate(); });
    sentinel_->start();
  }
  commands_.start();
  reader_.start();
  admission_.start();
  thread_ = std::jthread([this] { ioc_.run(); });
}

redis_backend::~redis_backend() { stop(); }

void redis_backend::stop() {
  if (!thread_.joinable()) return;
  commands_.stop();
  reader_.stop();
  if (sentinel_) sentinel_->stop();
  // Runs after both stops (one thread, FIFO): their pending commands have failed by then.
  asio::post(ioc_, [this] { ioc_.stop(); });
  thread_.join();
}

}  // namespace dh::store
