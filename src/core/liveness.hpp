// liveness.hpp — when a session must ping, and when it must end: token expiry (AUTH_EXPIRED),
// no client message or pong for --idle-timeout, or two unanswered pings. Pure: takes `now`.
#pragma once

#include "core/clock.hpp"

#include <chrono>

namespace dh::core {

struct liveness_settings {
  std::chrono::steady_clock::duration ping_interval = std::chrono::seconds(30);  // 0: no pings
  std::chrono::steady_clock::duration idle_timeout = std::chrono::minutes(10);   // 0: never idle out
  int max_missed_pongs = 2;
};

class liveness {
 public:
  enum class action { none, send_ping, token_expired, unresponsive, idle_timeout };

  liveness(liveness_settings settings, steady_time now);

  void on_client_message(steady_time now) noexcept;
  void on_pong(steady_time now) noexcept;
  void set_token_deadline(steady_time deadline) noexcept { token_deadline_ = deadline; }

  // The earliest moment poll() has something to say.
  steady_time next_deadline() const noexcept;
  // The most urgent action due at `now`; a send_ping is recorded as sent.
  action poll(steady_time now) noexcept;

 private:
  void heard_from_peer(steady_time now) noexcept;

  liveness_settings settings_;
  steady_time last_heard_;
  steady_time next_ping_;
  steady_time token_deadline_ = steady_time::max();
  bool awaiting_pong_ = false;
  int missed_pongs_ = 0;
};

}  // namespace dh::core
