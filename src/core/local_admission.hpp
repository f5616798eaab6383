// local_admission.hpp — connection slots counted in this process, on a strand of their own: the
// admission of a single instance. A join at the limit waits up to `wait` for a release.
#pragma once

#include "core/admission.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <unordered_map>
#include <vector>

namespace dh::core {

class local_admission final : public admission {
 public:
  local_admission(boost::asio::any_io_executor executor, admission_settings settings);

  boost::asio::awaitable<bool> acquire(std::string user, std::uint64_t session) override;
  void release(std::string user, std::uint64_t session) override;

 private:
  struct user_slots {
    std::vector<std::uint64_t> holders;
    std::vector<boost::asio::steady_timer*> waiters;  // acquires at the limit; each lives in its own frame
  };

  boost::asio::awaitable<bool> acquire_on_strand(std::string user, std::uint64_t session);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  admission_settings settings_;
  std::unordered_map<std::string, user_slots> users_;  // strand only
};

}  // namespace dh::core
