// redis_event_store.hpp — the event store shared by every instance: each batch is one Lua script
// run in Redis (task rules, statistics, history, bus append), so event ids come from Redis.
#pragma once

#include "core/event_store.hpp"
#include "store/redis_bus.hpp"
#include "store/redis_client.hpp"
#include "store/redis_schema.hpp"

#include <string>

namespace dh::store {

struct redis_store_settings {
  std::string prefix = "dh:";  // every key starts with it (see redis_schema.hpp)
  core::history_settings history;
  std::size_t bus_max_length = 100'000;  // committed batches kept on the bus stream for late readers
};

// Calls are pipelined on `commands` from any thread. apply() completes once Redis has run the
// script: the batch is in Redis's memory and on the bus, as durable as Redis's appendfsync makes it.
class redis_event_store final : public core::event_store {
 public:
  // `bus` only counts for available(): an instance whose bus is down cannot show its clients
  // what it stores, so it is not ready either.
  redis_event_store(redis_client& commands, const redis_bus& bus, redis_store_settings settings);

  // Loads the scripts; the command client's setup step, so each (re)connect loads them once.
  boost::asio::awaitable<void> load_scripts(redis_client& client) const;

  boost::asio::awaitable<std::shared_ptr<const core::apply_result>> apply(std::vector<protocol::task_event> events,
                                                                          core::wall_time now) override;
  boost::asio::awaitable<core::user_stats> stats(std::string user) override;
  boost::asio::awaitable<core::history_page> history(std::string user, std::uint64_t after, std::size_t limit,
                                                     core::wall_time now) override;
  bool available() const noexcept override { return redis_.up() && bus_.linked(); }

 private:
  redis_client& redis_;
  const redis_bus& bus_;
  redis_store_settings settings_;
  redis_script apply_;
  redis_script history_;
};

}  // namespace dh::store
