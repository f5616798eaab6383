// hub.hpp — owns the user → sessions map, the per-user connection limit and (later) the
// debounce/batch timers. State is touched only on the hub's strand; it never awaits a session
// and reaches one only through its outbox.
#pragma once

#include "core/clock.hpp"
#include "core/outbox.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace dh::core {

struct hub_settings {
  std::size_t max_conns_per_user = 5;
};

class hub {
 public:
  enum class join_result { joined, limit_reached, shutting_down };

  hub(boost::asio::any_io_executor executor, hub_settings settings, const clock& clock);

  // Registers a session unless its user is at the connection limit. Safe from any executor.
  boost::asio::awaitable<join_result> join(std::string user, std::uint64_t session_id, std::shared_ptr<outbox> out);
  // Fire-and-forget: each posts onto the hub strand.
  void leave(std::string user, std::uint64_t session_id);
  void subscribe(std::string user, std::uint64_t session_id, bool batch);
  void unsubscribe(std::string user, std::uint64_t session_id);
  // Refuses new sessions and asks every session to send `last_frame` then close with `code`.
  void shut_down(frame last_frame, std::uint16_t code);

  std::uint64_t new_session_id() noexcept { return next_session_id_.fetch_add(1, std::memory_order_relaxed); }
  std::size_t connection_count() const noexcept { return connections_.load(std::memory_order_relaxed); }
  std::size_t user_count() const noexcept { return users_count_.load(std::memory_order_relaxed); }
  // Random per process, so session ids do not repeat across restarts.
  std::uint64_t instance_nonce() const noexcept { return nonce_; }

 private:
  struct member {
    std::uint64_t id;
    std::shared_ptr<outbox> out;
    bool subscribed = false;
    bool batch = false;
  };

  boost::asio::awaitable<join_result> join_on_strand(std::string user, std::uint64_t session_id,
                                                     std::shared_ptr<outbox> out);
  member* find(const std::string& user, std::uint64_t session_id);
  void send_dashboard(member& m);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  hub_settings settings_;
  const clock& clock_;
  std::unordered_map<std::string, std::vector<member>> users_;  // hub strand only
  bool shutting_down_ = false;                                   // hub strand only
  const std::uint64_t nonce_;
  std::atomic<std::uint64_t> next_session_id_{1};
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> users_count_{0};
};

}  // namespace dh::core
