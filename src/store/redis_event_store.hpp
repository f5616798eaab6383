// redis_event_store.hpp — the event store shared by every instance: each batch is one Lua script
// run in Redis (task rules, statistics, history, bus append), so event ids come from Redis.
#pragma once

#include "core/event_store.hpp"
#include "core/logger.hpp"
#include "store/redis_bus.hpp"
#include "store/redis_client.hpp"
#include "store/redis_epoch.hpp"
#include "store/redis_schema.hpp"

#include <chrono>
#include <mutex>
#include <string>

namespace dh::store {

struct redis_store_settings {
  std::string prefix = "dh:";  // every key starts with it (see redis_schema.hpp)
  core::history_settings history;
  std::size_t bus_max_length = 100'000;  // batches kept in an instance's inbox for a late reader
  // An inbox no batch reached for this long goes: its instance is gone (a live one is reached
  // whenever its users' tasks change, and reads from where it was if its inbox went meanwhile).
  std::chrono::milliseconds inbox_ttl{3'600'000};
  unsigned min_replicas = 0;  // a 202 waits (WAIT) until this many replicas have the batch
  std::chrono::milliseconds replica_timeout{1000};  // else 503: WAIT's own timeout
};

// What Redis's persistence settings make of a 202, in one sentence.
std::string durability_of(std::string_view appendonly, std::string_view appendfsync, std::string_view save,
                          unsigned min_replicas);

// Calls are pipelined on `commands` from any thread. apply() completes once Redis has run the
// script: the batch is in Redis's memory and on the bus, as durable as Redis's appendfsync makes it.
class redis_event_store final : public core::event_store {
 public:
  // `bus` only counts for available(): an instance whose bus is down cannot show its clients
  // what it stores, so it is not ready either.
  redis_event_store(redis_client& commands, const redis_bus& bus, redis_epoch_watch& epoch,
                    redis_store_settings settings, const core::logger& log);

  // The command client's setup step, so each (re)connect does it before any command: loads the
  // scripts, enters the store's epoch (starting a new one if Redis lost writes this instance
  // saw) and reads what Redis's persistence settings make of a 202.
  boost::asio::awaitable<void> set_up(redis_client& client);
  // The command connection is up after set_up(): sessions hear of a loss set_up() found now,
  // when their reconnects can be admitted. On the client's executor.
  void connected();

  boost::asio::awaitable<std::shared_ptr<const core::apply_result>> apply(std::vector<protocol::task_event> events,
                                                                          core::wall_time now) override;
  boost::asio::awaitable<core::user_stats> stats(std::string user) override;
  boost::asio::awaitable<core::history_page> history(std::string user, std::uint64_t after, std::size_t limit,
                                                     core::wall_time now) override;
  bool available() const noexcept override { return redis_.up() && bus_.linked(); }
  core::store_report report() const override;
  void on_history_lost(std::function<void()> fn) override;

 private:
  boost::asio::awaitable<void> enter_epoch(redis_client& client);
  boost::asio::awaitable<void> read_persistence(redis_client& client);
  boost::asio::awaitable<void> confirm_on_replicas();

  redis_client& redis_;
  const redis_bus& bus_;
  redis_epoch_watch& epoch_;
  redis_store_settings settings_;
  const core::logger& log_;
  redis_script apply_;
  redis_script history_;
  redis_script stats_;
  redis_script epoch_script_;
  bool history_lost_pending_ = false;  // the client's executor only
  std::mutex history_lost_mutex_;
  std::function<void()> history_lost_;
  mutable std::mutex durability_mutex_;
  std::string durability_ = "unknown: Redis not reached yet";
};

}  // namespace dh::store
