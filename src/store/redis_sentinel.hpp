// redis_sentinel.hpp — where the Redis master is, asked of Sentinel: one kept connection per
// sentinel, asked in turn until one names the master, so a failover is followed without a restart.
#pragma once

#include "core/logger.hpp"
#include "store/redis_client.hpp"
#include "store/redis_url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dh::store {

class redis_sentinel {
 public:
  // `executor` is the Redis thread's: the sentinels' connections live there like the others.
  redis_sentinel(boost::asio::any_io_executor executor, std::vector<redis_endpoint> sentinels, std::string master,
                 const core::logger& log, redis_timing timing = {});
  redis_sentinel(const redis_sentinel&) = delete;
  redis_sentinel& operator=(const redis_sentinel&) = delete;

  void start();
  void stop();
  // The master's host and port as the first sentinel that answers names them; nullopt when none
  // does (all unreachable, or the name unknown to them). On the Redis thread.
  boost::asio::awaitable<std::optional<redis_endpoint>> locate();
  const std::string& master_name() const noexcept { return master_; }

 private:
  std::string master_;
  const core::logger& log_;
  std::vector<std::unique_ptr<redis_client>> sentinels_;
  std::size_t first_ = 0;  // the sentinel that answered last is asked first
};

}  // namespace dh::store
