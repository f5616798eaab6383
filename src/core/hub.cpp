#include "core/hub.hpp"

#include "protocol/messages.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>

namespace dh::core {

namespace asio = boost::asio;

hub::hub(asio::any_io_executor executor, hub_settings settings, const clock& clock)
    : strand_(asio::make_strand(std::move(executor))),
      settings_(settings),
      clock_(clock),
      nonce_((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

asio::awaitable<hub::join_result> hub::join(std::string user, std::uint64_t session_id, std::shared_ptr<outbox> out) {
  // Runs the registration on the hub strand and resumes the caller on its own executor.
  co_return co_await asio::co_spawn(strand_, join_on_strand(std::move(user), session_id, std::move(out)),
                                    asio::use_awaitable);
}

// A member coroutine rather than a capturing lambda: its arguments live in the coroutine frame.
asio::awaitable<hub::join_result> hub::join_on_strand(std::string user, std::uint64_t session_id,
                                                      std::shared_ptr<outbox> out) {
  if (shutting_down_) co_return join_result::shutting_down;
  auto& members = users_[user];
  if (members.size() >= settings_.max_conns_per_user) co_return join_result::limit_reached;
  if (members.empty()) users_count_.fetch_add(1, std::memory_order_relaxed);
  members.push_back(member{session_id, std::move(out)});
  connections_.fetch_add(1, std::memory_order_relaxed);
  co_return join_result::joined;
}

hub::member* hub::find(const std::string& user, std::uint64_t session_id) {
  auto it = users_.find(user);
  if (it == users_.end()) return nullptr;
  auto m = std::find_if(it->second.begin(), it->second.end(), [&](const member& x) { return x.id == session_id; });
  return m == it->second.end() ? nullptr : &*m;
}

void hub::leave(std::string user, std::uint64_t session_id) {
  asio::post(strand_, [this, user = std::move(user), session_id] {
    auto it = users_.find(user);
    if (it == users_.end()) return;
    auto& members = it->second;
    const auto removed = std::erase_if(members, [&](const member& m) { return m.id == session_id; });
    connections_.fetch_sub(removed, std::memory_order_relaxed);
    if (members.empty()) {
      users_.erase(it);
      users_count_.fetch_sub(1, std::memory_order_relaxed);
    }
  });
}

void hub::send_dashboard(member& m) {
  // Statistics arrive with the store (issue 4); until then a subscriber sees an empty dashboard.
  const auto now = clock_.wall_now();
  auto text = protocol::encode_dashboard_update(protocol::dashboard_stats{0, 0, now}, now);
  if (m.out->push(make_frame(std::move(text))) == outbox::push_result::full) {
    m.out->request_close({4013, make_frame(protocol::encode_error({protocol::errc::slow_consumer, {}, {}}, now)),
                          "slow consumer"});
  }
}

void hub::subscribe(std::string user, std::uint64_t session_id, bool batch) {
  asio::post(strand_, [this, user = std::move(user), session_id, batch] {
    if (auto* m = find(user, session_id)) {
      m->subscribed = true;
      m->batch = batch;
      send_dashboard(*m);
    }
  });
}

void hub::unsubscribe(std::string user, std::uint64_t session_id) {
  asio::post(strand_, [this, user = std::move(user), session_id] {
    if (auto* m = find(user, session_id)) m->subscribed = false;
  });
}

void hub::shut_down(frame last_frame, std::uint16_t code) {
  asio::post(strand_, [this, last_frame = std::move(last_frame), code] {
    shutting_down_ = true;
    for (auto& [user, members] : users_)
      for (auto& m : members) m.out->request_close({code, last_frame, "server shutting down"});
  });
}

}  // namespace dh::core
