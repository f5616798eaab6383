// redis_admission.hpp — the per-user connection limit across every instance: a lease per session
// in a Redis sorted set, renewed while the session lives, so a killed instance's leases lapse
// within one TTL.
#pragma once

#include "core/admission.hpp"
#include "core/logger.hpp"
#include "store/redis_client.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dh::store {

struct lease_settings {
  std::string prefix = "dh:";
  std::string instance;  // unique per process: the lease members' first half
  std::chrono::milliseconds ttl{15'000};
};

class redis_admission final : public core::admission {
 public:
  redis_admission(redis_client& redis, core::admission_settings limits, lease_settings leases,
                  const core::logger& log);

  // Throws core::store_unavailable while Redis is unreachable: no lease, no connection.
  boost::asio::awaitable<bool> acquire(std::string user, std::uint64_t session) override;
  void release(std::string user, std::uint64_t session) override;
  void on_lapsed(std::function<void(const std::string&, std::uint64_t)> fn) override;

  // Renews every held lease each third of the TTL, on the client's executor, until it stops.
  void start();
  // Loads the lease scripts; part of the command client's setup step, like the store's.
  boost::asio::awaitable<void> load_scripts(redis_client& client) const;

 private:
  boost::asio::awaitable<void> renew_loop();
  boost::asio::awaitable<void> renew_held();
  std::string member(std::uint64_t session) const;
  std::vector<std::string> keys_of(const std::string& user) const;  // the lease key and the route key
  std::vector<std::string> acquire_args(std::uint64_t session) const;

  redis_client& redis_;
  core::admission_settings limits_;
  lease_settings leases_;
  const core::logger& log_;
  redis_script acquire_;
  redis_script renew_;
  redis_script release_;
  std::mutex mutex_;  // guards held_; acquire and release come from every connection thread
  std::unordered_map<std::uint64_t, std::string> held_;  // session → user
  std::function<void(const std::string&, std::uint64_t)> lapsed_;  // guarded by mutex_
};

}  // namespace dh::store
