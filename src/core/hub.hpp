// hub.hpp — owns the user → sessions map, task_update batching and dashboard_update debouncing
// (the per-user connection limit is core/admission's). State is touched only on the hub's strand; it never awaits a
// session and reaches one only through its outbox (a full outbox closes it as SLOW_CONSUMER).
#pragma once

#include "core/batcher.hpp"
#include "core/clock.hpp"
#include "core/debouncer.hpp"
#include "core/logger.hpp"
#include "core/metrics.hpp"
#include "core/outbox.hpp"
#include "core/event_store.hpp"
#include "core/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dh::core {

struct hub_settings {
  std::chrono::milliseconds batch_window{20};
  std::chrono::steady_clock::duration dashboard_interval = std::chrono::seconds(1);
  std::size_t ack_window = 1000;     // unacked task updates a session that acks may have
  std::size_t replay_limit = 10'000;  // task updates replayed on a resume
};

class hub {
 public:
  enum class join_result { joined, shutting_down };

  // `events` gives subscribers their history and statistics.
  hub(boost::asio::any_io_executor executor, hub_settings settings, const clock& clock, event_store& events,
      const logger& log, metrics& counted);

  // Registers a session (admitted already: see core/admission). Safe from any executor.
  boost::asio::awaitable<join_result> join(std::string user, std::uint64_t session_id, std::shared_ptr<outbox> out);
  // Fire-and-forget: each posts onto the hub strand.
  void leave(std::string user, std::uint64_t session_id);
  // Starts updates; with `after`, first replays history after that event id. Ends with a
  // dashboard_update for this session.
  void subscribe(std::string user, std::uint64_t session_id, bool batch, std::optional<std::uint64_t> after);
  void unsubscribe(std::string user, std::uint64_t session_id);
  // Cumulative: acknowledges every event id up to the largest given.
  void ack(std::string user, std::uint64_t session_id, std::uint64_t up_to);
  // Fans out a batch that is already durable in the store.
  void publish(std::shared_ptr<const apply_result> result);
  // The bus was lost (false) or is back (true): every session hears connection_status
  // reconnecting or connected (SPEC §1); what was committed meanwhile follows on the bus.
  void bus_link(bool up);
  // Refuses new sessions and asks every session to send `last_frame` then close with `code`.
  void shut_down(frame last_frame, std::uint16_t code);
  // Asks every session to send `last_frame` and close with `code`, so its client reconnects and
  // resumes; new sessions are welcome. For a store that lost updates its clients may have seen.
  void restart_sessions(frame last_frame, std::uint16_t code, std::string reason);
  // The same for one session (its updates may have gone elsewhere: a lapsed lease).
  void restart_session(const std::string& user, std::uint64_t session_id, frame last_frame, std::uint16_t code,
                       std::string reason);

  // The `limit` users with the most sessions, most first (ties by user id), read on the hub's
  // strand: one pass over the users, for /status.
  boost::asio::awaitable<std::vector<std::pair<std::string, std::size_t>>> busiest_users(std::size_t limit);

  std::uint64_t new_session_id() noexcept { return next_session_id_.fetch_add(1, std::memory_order_relaxed); }
  std::size_t connection_count() const noexcept { return connections_.load(std::memory_order_relaxed); }
  std::size_t user_count() const noexcept { return users_count_.load(std::memory_order_relaxed); }
  // Random per process, so session ids do not repeat across restarts.
  std::uint64_t instance_nonce() const noexcept { return nonce_; }

 private:
  // A replay: a subscribe with `after` sends the history after it before any live update.
  // subscribe() marks the member `replaying` and starts run_replay(); while it runs, flush() holds
  // the member's live updates in `held`; run_replay() sends the history paced by the outbox, then
  // what was held (less what the history already had), clears `replaying` and ends with a
  // dashboard_update. A newer subscribe bumps `replay_generation`, which stops an older replay.
  struct member {
    std::uint64_t id = 0;
    std::shared_ptr<outbox> out;
    bool subscribed = false;
    bool batch = false;
    bool replaying = false;            // live updates wait in `held` until the replay is out
    std::vector<task_update> held;
    bool acking = false;               // the ack window applies once a session has acked
    std::vector<std::uint64_t> unacked;  // increasing; a vector, as an empty deque costs 512 bytes a session
    std::uint64_t replay_generation = 0;   // the subscribe whose replay is current
  };
  struct user_state {
    explicit user_state(std::chrono::steady_clock::duration interval) : dashboard(interval) {}
    std::vector<member> members;
    batcher pending;
    bool flush_posted = false;  // a flush is queued on the strand (after the current publish)
    bool window_open = false;   // updates are being gathered until the window's end
    std::optional<protocol::dashboard_stats> latest;  // stats to consider at the next flush
    debouncer dashboard;
    // Made on first use (most users never need one); dropped with the user, which drops their call.
    std::unique_ptr<timer> flush_timer;
    std::unique_ptr<timer> dashboard_timer;
  };

  boost::asio::awaitable<join_result> join_on_strand(std::string user, std::uint64_t session_id,
                                                     std::shared_ptr<outbox> out);
  boost::asio::awaitable<void> run_replay(std::string user, std::uint64_t session_id,
                                               std::optional<std::uint64_t> after, std::uint64_t generation);
  member* find(const std::string& user, std::uint64_t session_id);
  void arm_flush(const std::string& user, user_state& state);
  void flush(const std::string& user);
  void open_window(const std::string& user, user_state& state);
  static bool nothing_pending(const user_state& state);
  void apply_dashboard(const std::string& user, user_state& state, const debouncer::decision& d);
  timer& timer_of(std::unique_ptr<timer>& slot);
  using tagged_frames = std::vector<std::pair<frame, frame_tag>>;
  static tagged_frames encode_window(const std::vector<task_update>& items, bool as_batch, wall_time now);
  void send_window(const std::string& user, member& m, const std::vector<task_update>& items,
                   const tagged_frames& frames);
  void push(const std::string& user, member& m, frame f, frame_tag tag);
  // Asks every session to send `last_frame` and close with `code`. Hub strand only.
  void close_everyone(const frame& last_frame, std::uint16_t code, const std::string& reason);
  void slow_consumer(const std::string& user, member& m, std::string_view why);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  hub_settings settings_;
  const clock& clock_;
  event_store& events_;
  const logger& log_;
  metrics& metrics_;
  std::unordered_map<std::string, std::unique_ptr<user_state>> users_;  // hub strand only
  bool shutting_down_ = false;                                         // hub strand only
  const std::uint64_t nonce_;
  std::atomic<std::uint64_t> next_session_id_{1};
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> users_count_{0};
};

}  // namespace dh::core
