// metrics.hpp — what the gateway counts about itself: relaxed atomics any thread may bump on the
// hot path without a lock, read only when /metrics is scraped (net/metrics_text renders them).
#pragma once

#include "core/transport.hpp"
#include "protocol/errors.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace dh::core {

class counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Fixed buckets (upper bounds in seconds); observe() is two relaxed increments and an add.
class histogram {
 public:
  explicit histogram(std::vector<double> upper_bounds);
  void observe(std::chrono::nanoseconds d) noexcept;

  struct snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, events at or below it
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };
  snapshot read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1: the last is +Inf
  std::atomic<std::uint64_t> sum_ns_{0};
};

// The client messages the contract defines, as counted by type.
enum class client_message : std::uint8_t { ping, subscribe_dashboard, unsubscribe_dashboard, ack, refresh_token };
inline constexpr std::array<std::string_view, 5> client_message_names{
    "ping", "subscribe_dashboard", "unsubscribe_dashboard", "ack", "refresh_token"};

// The server messages, as counted when written to a socket. `none` marks a frame nobody counts.
enum class server_message : std::uint8_t {
  none,
  connection_success,
  task_update,
  task_batch,
  dashboard_update,
  pong,
  subscribed,
  unsubscribed,
  error,
  connection_status,
};
inline constexpr std::array<std::string_view, 10> server_message_names{
    "", "connection_success", "task_update", "task_batch", "dashboard_update",
    "pong", "subscribed", "unsubscribed", "error", "connection_status"};

// The close codes a session can end with; a peer's own code outside this list counts as "other".
inline constexpr std::array<std::uint16_t, 15> known_close_codes{1000, 1001, 1005, 1006, 1007, 1008, 1009, 1011,
                                                                 4000, 4001, 4002, 4004, 4008, 4013, 4029};

// The ingest answers counted by status; anything else counts as "other".
inline constexpr std::array<unsigned, 9> known_ingest_statuses{202, 400, 401, 404, 405, 413, 415, 429, 503};

struct metrics {
  metrics();

  void client_in(client_message m) noexcept { client_messages[static_cast<std::size_t>(m)].add(); }
  void server_out(server_message m) noexcept {
    if (m != server_message::none) server_messages[static_cast<std::size_t>(m)].add();
  }
  // An error raised to a client (its envelope queued, or an upgrade refused); SLOW_CONSUMER also
  // counts as a slow-consumer drop.
  void error_sent(protocol::errc code) noexcept;
  // A session ended with this close code (1005: a close frame without a code; 1006: none).
  void closed(std::uint16_t code) noexcept;
  void ingest_answered(unsigned status) noexcept;

  std::array<counter, client_message_names.size()> client_messages;
  std::array<counter, server_message_names.size()> server_messages;
  std::array<counter, static_cast<std::size_t>(protocol::errc::internal_error) + 1> errors;  // by errc; [0] unused
  std::array<counter, known_close_codes.size() + 1> closes;       // the last: other
  std::array<counter, known_ingest_statuses.size() + 1> ingest;   // the last: other
  // By transport (indexed by core::transport): sessions opened and ended, server messages written.
  std::array<counter, transport_names.size()> sessions_opened, sessions_ended, messages_by_transport;
  counter slow_consumer_drops;
  counter upgrades_refused_full;  // upgrades answered 503: the instance is at --max-connections
  counter connections_refused_rate;  // connections answered 429: over --connection-rate-per-address
  counter events_applied;  // ingest events that changed a task
  counter events_ignored;  // older than the stored task: last writer wins
  counter bus_events;  // task events in the batches this instance's bus brought (Redis: its inbox)
  histogram delivery_latency;  // ingest accepted -> the frame written to the socket, per frame
  histogram handshake_time;    // upgrade request read -> connection_success queued
  histogram store_commit_time;  // an ingest request's wait until durable, group commit included
};

}  // namespace dh::core
