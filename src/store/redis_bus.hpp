// redis_bus.hpp — the hub's feed in Redis mode: reads this instance's inbox stream, where every
// instance's apply script appends the batches that reach its sessions' users (XREAD BLOCK on its
// own connection), and resumes after an outage from the last entry it saw: none skipped or twice.
#pragma once

#include "core/bus.hpp"
#include "core/logger.hpp"
#include "store/redis_client.hpp"
#include "store/redis_epoch.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <string>

namespace dh::store {

class redis_bus final : public core::bus {
 public:
  // `reader` is this bus's own connection: a blocking XREAD holds it.
  // Each record's epoch figures go to `epoch`, so a Redis that later lost them is noticed.
  // `instance` names the inbox: the lease members' first half (redis_admission).
  redis_bus(redis_client& reader, std::string prefix, std::string instance, redis_epoch_watch& epoch,
            const core::logger& log);

  void subscribe(subscriber s, link_fn on_link) override;
  // Starts reading the inbox from its beginning (it is this process's alone); after subscribe().
  void start();
  // Reading: the start position is fixed and the connection is up. Any thread.
  bool linked() const noexcept { return linked_.load(std::memory_order_acquire); }

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> read_once();
  boost::asio::awaitable<void> check_for_gap();
  void unlink();  // tells the hub the bus is lost, once
  void deliver(const redis_reply& entry);

  redis_client& reader_;
  std::string key_;
  redis_epoch_watch& epoch_;
  const core::logger& log_;
  subscriber subscriber_;
  link_fn on_link_;
  // The reader's executor only.
  std::string last_id_;  // the newest entry handed on; empty until the first read fixes the start
  std::atomic<bool> linked_{false};  // the hub has been told the bus is connected; written on the reader's executor
};

}  // namespace dh::store
