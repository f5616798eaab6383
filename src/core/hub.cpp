#include "core/hub.hpp"

#include "protocol/messages.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <limits>
#include <random>
#include <span>

namespace dh::core {

namespace asio = boost::asio;

namespace {

constexpr std::size_t replay_batch_size = 100;
// A window's task_batch is split into frames of about this size, so a burst never becomes one
// frame bigger than a session's whole outbound budget (--max-queued-bytes).
constexpr std::size_t max_batch_frame_bytes = 256 * 1024;

protocol::dashboard_stats to_dashboard(const user_stats& s, wall_time now) {
  return {s.total, s.completed, last_updated(s, now)};
}

// (payload, event id) pairs, as a task_batch lists them.
using batch_items = std::vector<std::pair<std::string_view, std::uint64_t>>;

// The next task_batch frame from items[from]: at most `max_count` items, closed once it holds
// max_batch_frame_bytes of payload. Advances `from`.
frame next_batch_frame(const batch_items& items, std::size_t& from, std::size_t max_count, wall_time now) {
  const auto first = from;
  for (std::size_t bytes = 0; from < items.size() && from - first < max_count && bytes < max_batch_frame_bytes; ++from)
    bytes += items[from].first.size();
  return make_frame(protocol::encode_task_batch(std::span(items).subspan(first, from - first), now));
}

}  // namespace

// The frames one window becomes for a session: one task_update each, or task_batch frames. Each
// carries the acceptance time of its oldest update, for the fan-out latency histogram.
hub::tagged_frames hub::encode_window(const std::vector<task_update>& items, bool as_batch, wall_time now) {
  std::vector<std::string> payloads;
  payloads.reserve(items.size());
  for (const auto& item : items)
    payloads.push_back(protocol::encode_task_update_payload(item.action, item.task_id_json, *item.task_json));
  tagged_frames frames;
  if (as_batch) {
    batch_items updates;
    for (std::size_t i = 0; i < items.size(); ++i) updates.emplace_back(payloads[i], items[i].event_id);
    for (std::size_t from = 0; from < updates.size();) {
      const auto first = from;
      auto f = next_batch_frame(updates, from, updates.size(), now);
      const auto oldest = std::min_element(items.begin() + static_cast<std::ptrdiff_t>(first),
                                           items.begin() + static_cast<std::ptrdiff_t>(from),
                                           [](const task_update& a, const task_update& b) { return a.accepted < b.accepted; });
      frames.emplace_back(std::move(f), frame_tag{server_message::task_batch, oldest->accepted, items[from - 1].event_id});
    }
  } else {
    for (std::size_t i = 0; i < items.size(); ++i)
      frames.emplace_back(make_frame(protocol::encode_task_update(payloads[i], items[i].event_id, now)),
                          frame_tag{server_message::task_update, items[i].accepted, items[i].event_id});
  }
  return frames;
}

hub::hub(asio::any_io_executor executor, hub_settings settings, const clock& clock, event_store& events,
         const logger& log, metrics& counted)
    : strand_(asio::make_strand(std::move(executor))),
      settings_(settings),
      clock_(clock),
      events_(events),
      log_(log),
      metrics_(counted),
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
  auto& state = users_[user];
  if (!state) {
    state = std::make_unique<user_state>(settings_.dashboard_interval);
    users_count_.fetch_add(1, std::memory_order_relaxed);
  }
  member joined;
  joined.id = session_id;
  joined.out = std::move(out);
  state->members.push_back(std::move(joined));
  connections_.fetch_add(1, std::memory_order_relaxed);
  co_return join_result::joined;
}

hub::member* hub::find(const std::string& user, std::uint64_t session_id) {
  auto it = users_.find(user);
  if (it == users_.end()) return nullptr;
  auto& members = it->second->members;
  auto m = std::find_if(members.begin(), members.end(), [&](const member& x) { return x.id == session_id; });
  return m == members.end() ? nullptr : &*m;
}

void hub::leave(std::string user, std::uint64_t session_id) {
  asio::post(strand_, [this, user = std::move(user), session_id] {
    auto it = users_.find(user);
    if (it == users_.end()) return;
    auto& members = it->second->members;
    const auto removed = std::erase_if(members, [&](const member& m) { return m.id == session_id; });
    connections_.fetch_sub(removed, std::memory_order_relaxed);
    if (members.empty()) {
      users_.erase(it);  // its timers are cancelled with it
      users_count_.fetch_sub(1, std::memory_order_relaxed);
    }
  });
}

void hub::slow_consumer(const std::string& user, member& m, std::string_view why) {
  if (m.out->has_close_request()) return;
  const auto now = clock_.wall_now();
  const bool first = m.out->set_close_request(
      {4013, make_frame(protocol::encode_error({protocol::errc::slow_consumer, std::string(why), {}}, now)),
       "SLOW_CONSUMER"});
  // Logged and counted here, where the reason is known: the session may never manage to send its
  // close frame.
  if (first) metrics_.error_sent(protocol::errc::slow_consumer);
  if (first) log_.info("session {:016x} user={} error SLOW_CONSUMER: {}", nonce_ ^ m.id, user, why);
}

void hub::push(const std::string& user, member& m, frame f, frame_tag tag) {
  if (m.out->push(std::move(f), tag) == outbox::push_result::full) slow_consumer(user, m, "outbound queue is full");
}

void hub::subscribe(std::string user, std::uint64_t session_id, bool batch, std::optional<std::uint64_t> after) {
  asio::post(strand_, [this, user = std::move(user), session_id, batch, after]() mutable {
    auto* m = find(user, session_id);
    if (m == nullptr) return;
    m->subscribed = true;
    m->batch = batch;
    m->replaying = after.has_value();
    m->held.clear();
    const auto generation = ++m->replay_generation;  // a newer subscribe supersedes a replay under way
    asio::co_spawn(strand_, run_replay(std::move(user), session_id, after, generation), [this](std::exception_ptr e) {
      if (e) log_.error("INTERNAL_ERROR syncing a subscriber: {}", describe(e));
    });
  });
}

// Replays missed updates (when `after` is set), releases what arrived meanwhile, then sends the
// session a fresh dashboard_update. Runs on the hub strand; the store work runs off it.
asio::awaitable<void> hub::run_replay(std::string user, std::uint64_t session_id,
                                           std::optional<std::uint64_t> after, std::uint64_t generation) {
  try {
    if (after) {
      const auto now = clock_.wall_now();
      auto page = co_await events_.history(user, *after, settings_.replay_limit, now);
      // After each wait: the member, while it is still replaying for this subscribe.
      auto still_replaying = [&]() -> member* {
        auto* m = find(user, session_id);
        return m != nullptr && m->replaying && m->replay_generation == generation ? m : nullptr;
      };
      auto* m = still_replaying();
      if (m == nullptr) co_return;
      const auto wall = clock_.wall_now();
      const auto& entries = page.entries;
      // Paced: a replay may hold more than a session's outbound budget, so each frame waits until
      // the writer has room. A client that reads gets it all; one that stops is cut by liveness.
      const auto out = m->out;  // outlives the member, which may leave while we wait
      const bool batch = m->batch;
      batch_items updates;
      if (batch)
        for (const auto& e : entries) updates.emplace_back(e.payload, e.event_id);
      for (std::size_t next = 0; next < entries.size();) {
        frame f;
        if (batch) {
          f = next_batch_frame(updates, next, replay_batch_size, wall);
        } else {
          const auto& e = entries[next++];
          f = make_frame(protocol::encode_task_update(e.payload, e.event_id, wall));
        }
        const auto last_id = entries[next - 1].event_id;
        co_await out->wait_for_room(f->size(), strand_);
        m = still_replaying();
        if (m == nullptr || out->has_close_request()) co_return;
        push(user, *m, std::move(f), {batch ? server_message::task_batch : server_message::task_update, {}, last_id});
      }
      if (!entries.empty()) {
        // The replay's tail leaves before anything else is queued behind it: a last frame larger
        // than the budget would otherwise refuse the next small one.
        co_await out->wait_for_room(std::numeric_limits<std::size_t>::max(), strand_);
        m = still_replaying();
        if (m == nullptr) co_return;
      }
      // A resume position past the newest id replays nothing and must not hide what is held.
      const std::uint64_t replayed_up_to =
          entries.empty() ? std::min(*after, page.last_event_id) : entries.back().event_id;
      std::vector<task_update> held = std::move(m->held);
      m->held.clear();
      m->replaying = false;
      std::erase_if(held, [&](const task_update& u) { return u.event_id <= replayed_up_to; });
      if (!held.empty()) send_window(user, *m, held, encode_window(held, m->batch, wall));
    }
    auto stats = co_await events_.stats(user);
    auto* m = find(user, session_id);
    if (m == nullptr || !m->subscribed || m->replay_generation != generation) co_return;
    const auto now = clock_.wall_now();
    push(user, *m, make_frame(protocol::encode_dashboard_update(to_dashboard(stats, now), now)),
         {server_message::dashboard_update, {}});
  } catch (const store_error& e) {
    log_.error("store failed while syncing user={}: {}", user, e.what());
    if (auto* m = find(user, session_id)) {
      m->subscribed = m->replaying = false;
      metrics_.error_sent(protocol::errc::subscription_failed);
      push(user, *m,
           make_frame(protocol::encode_error({protocol::errc::subscription_failed, "the store is unavailable",
                                              "subscribe_dashboard"},
                                             clock_.wall_now())),
           {server_message::error, {}});
    }
  }
}

void hub::unsubscribe(std::string user, std::uint64_t session_id) {
  asio::post(strand_, [this, user = std::move(user), session_id] {
    if (auto* m = find(user, session_id)) {
      m->subscribed = m->replaying = false;
      m->held.clear();
    }
  });
}

void hub::ack(std::string user, std::uint64_t session_id, std::uint64_t up_to) {
  asio::post(strand_, [this, user = std::move(user), session_id, up_to] {
    auto* m = find(user, session_id);
    if (m == nullptr) return;
    m->acking = true;
    m->unacked.erase(m->unacked.begin(), std::upper_bound(m->unacked.begin(), m->unacked.end(), up_to));
  });
}

void hub::send_window(const std::string& user, member& m, const std::vector<task_update>& items,
                      const tagged_frames& frames) {
  for (const auto& [f, tag] : frames) push(user, m, f, tag);
  if (!m.acking) return;
  for (const auto& item : items) m.unacked.push_back(item.event_id);
  if (m.unacked.size() > settings_.ack_window) slow_consumer(user, m, "too many unacknowledged updates");
}

void hub::publish(std::shared_ptr<const apply_result> result) {
  metrics_.bus_events.add(result->events.size());
  asio::post(strand_, [this, result = std::move(result)] {
    // A batch read from Redis's bus carries no acceptance time: count from its arrival here.
    const auto accepted = result->accepted == wall_time{} ? clock_.wall_now() : result->accepted;
    for (const auto& event : result->events) {
      if (!event.applied) continue;
      for (const auto& seen : event.audience) {
        auto it = users_.find(seen.user);
        if (it == users_.end()) continue;  // nobody connected: history keeps it for a resume
        it->second->pending.add(
            {event.task_key, seen.action, seen.event_id, event.task_id_json, event.task_json, accepted});
        arm_flush(seen.user, *it->second);
      }
    }
    const auto now = clock_.wall_now();
    for (const auto& [user, stats] : result->stats) {
      auto it = users_.find(user);
      if (it == users_.end()) continue;
      it->second->latest = to_dashboard(stats, now);
      arm_flush(user, *it->second);
    }
  });
}

// SPEC §3: the window never delays an update of a user who has nothing pending. A user whose
// sessions' outboxes are empty gets the update as soon as the publish that brought it is done (all
// of that batch in one frame); only while an earlier frame still waits to be written are updates
// gathered, for at most one window, and collapsed.
void hub::arm_flush(const std::string& user, user_state& state) {
  if (state.window_open || state.flush_posted) return;  // the window's end, or the queued flush, takes it
  if (settings_.batch_window <= std::chrono::milliseconds::zero() || nothing_pending(state)) {
    state.flush_posted = true;
    asio::post(strand_, [this, user] { flush(user); });
    return;
  }
  open_window(user, state);
}

bool hub::nothing_pending(const user_state& state) {
  for (const auto& m : state.members)
    if (m.subscribed && m.out->queued_bytes() > 0) return false;
  return true;
}

void hub::open_window(const std::string& user, user_state& state) {
  state.window_open = true;
  timer_of(state.flush_timer).call_at(clock_.steady_now() + settings_.batch_window, [this, user] {
    auto it = users_.find(user);
    if (it == users_.end()) return;
    it->second->window_open = false;
    flush(user);
  });
}

// The end of a batch window: the window's task updates go out together, then the statistics
// they changed pass the debouncer, so a dashboard_update never runs ahead of its task_update.
void hub::flush(const std::string& user) {
  auto it = users_.find(user);
  if (it == users_.end()) return;
  auto& state = *it->second;
  state.flush_posted = false;
  const auto items = state.pending.take();
  const auto now = clock_.wall_now();
  std::optional<tagged_frames> singles, batched;
  for (auto& m : state.members) {
    if (!m.subscribed) continue;
    if (m.replaying) {
      m.held.insert(m.held.end(), items.begin(), items.end());
      if (m.held.size() > settings_.replay_limit) slow_consumer(user, m, "fell behind during a replay");
      continue;
    }
    if (items.empty()) continue;
    auto& frames = m.batch ? batched : singles;
    if (!frames) frames = encode_window(items, m.batch, now);  // serialised once for all sessions
    send_window(user, m, items, *frames);
  }
  if (state.latest) {
    const auto decision = state.dashboard.on_stats(*state.latest, clock_.steady_now());
    state.latest.reset();
    apply_dashboard(user, state, decision);
  }
}

void hub::apply_dashboard(const std::string& user, user_state& state, const debouncer::decision& d) {
  if (d.send) {
    const auto now = clock_.wall_now();
    const auto f = make_frame(protocol::encode_dashboard_update(*d.send, now));
    for (auto& m : state.members)
      if (m.subscribed && !m.replaying) push(user, m, f, {server_message::dashboard_update, {}});
  }
  if (d.wake_at) {
    timer_of(state.dashboard_timer).call_at(*d.wake_at, [this, user] {
      auto it = users_.find(user);
      if (it == users_.end()) return;
      apply_dashboard(user, *it->second, it->second->dashboard.on_timer(clock_.steady_now()));
    });
  }
}

timer& hub::timer_of(std::unique_ptr<timer>& slot) {
  if (!slot) slot = clock_.make_timer(strand_);
  return *slot;
}

asio::awaitable<std::vector<std::pair<std::string, std::size_t>>> hub::busiest_users(std::size_t limit) {
  using counts = std::vector<std::pair<std::string, std::size_t>>;
  co_return co_await asio::co_spawn(
      strand_,
      [this, limit]() -> asio::awaitable<counts> {
        counts all;
        all.reserve(users_.size());
        for (const auto& [user, state] : users_)
          if (!state->members.empty()) all.emplace_back(user, state->members.size());
        const auto shown = std::min(limit, all.size());
        std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(shown), all.end(),
                          [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
        all.resize(shown);
        co_return all;
      },
      asio::use_awaitable);
}

void hub::bus_link(bool up) {
  auto text = up ? protocol::encode_connection_status(protocol::connection_state::connected,
                                                      "the cluster bus is back; missed updates follow",
                                                      clock_.wall_now())
                 : protocol::encode_connection_status(protocol::connection_state::reconnecting,
                                                      "the cluster bus is unreachable; reconnecting",
                                                      clock_.wall_now());
  asio::post(strand_, [this, f = make_frame(std::move(text))] {
    for (auto& [user, state] : users_)
      for (auto& m : state->members) push(user, m, f, {server_message::connection_status, {}});
  });
}

void hub::close_everyone(const frame& last_frame, std::uint16_t code, const std::string& reason) {
  for (auto& [user, state] : users_)
    for (auto& m : state->members) m.out->set_close_request({code, last_frame, reason, server_message::connection_status});
}

void hub::restart_session(const std::string& user, std::uint64_t session_id, frame last_frame, std::uint16_t code,
                          std::string reason) {
  asio::post(strand_, [this, user, session_id, last_frame = std::move(last_frame), code, reason = std::move(reason)] {
    if (auto* m = find(user, session_id))
      m->out->set_close_request({code, last_frame, reason, server_message::connection_status});
  });
}

void hub::restart_sessions(frame last_frame, std::uint16_t code, std::string reason) {
  asio::post(strand_, [this, last_frame = std::move(last_frame), code, reason = std::move(reason)] {
    close_everyone(last_frame, code, reason);
  });
}

void hub::shut_down(frame last_frame, std::uint16_t code) {
  asio::post(strand_, [this, last_frame = std::move(last_frame), code] {
    shutting_down_ = true;
    close_everyone(last_frame, code, "server shutting down");
  });
}

}  // namespace dh::core
