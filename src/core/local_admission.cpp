#include "core/local_admission.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace dh::core {

namespace asio = boost::asio;

local_admission::local_admission(asio::any_io_executor executor, admission_settings settings)
    : strand_(asio::make_strand(std::move(executor))), settings_(settings) {}

asio::awaitable<bool> local_admission::acquire(std::string user, std::uint64_t session) {
  co_return co_await asio::co_spawn(strand_, acquire_on_strand(std::move(user), session), asio::use_awaitable);
}

// A member coroutine rather than a capturing lambda: its arguments live in the coroutine frame.
asio::awaitable<bool> local_admission::acquire_on_strand(std::string user, std::uint64_t session) {
  const auto deadline = asio::steady_timer::clock_type::now() + settings_.wait;
  for (;;) {
    auto& slots = users_[user];
    if (slots.holders.size() < settings_.max_per_user) {
      slots.holders.push_back(session);
      co_return true;
    }
    if (asio::steady_timer::clock_type::now() >= deadline) co_return false;
    asio::steady_timer wait(strand_, deadline);
    slots.waiters.push_back(&wait);
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));  // a release cancels it early
    if (auto it = users_.find(user); it != users_.end()) std::erase(it->second.waiters, &wait);
  }
}

void local_admission::release(std::string user, std::uint64_t session) {
  asio::post(strand_, [this, user = std::move(user), session] {
    auto it = users_.find(user);
    if (it == users_.end()) return;
    auto& slots = it->second;
    if (std::erase(slots.holders, session) == 0) return;
    for (auto* waiter : std::exchange(slots.waiters, {})) waiter->cancel();  // each looks again
    if (slots.holders.empty()) users_.erase(it);
  });
}

}  // namespace dh::core
