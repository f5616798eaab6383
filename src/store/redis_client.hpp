// redis_client.hpp — one Redis connection kept open: hiredis's async API driven by Asio's reactor
// on one thread, commands pipelined, each reply decoded once, reconnects with capped backoff.
#pragma once

#include "core/logger.hpp"
#include "store/redis_url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

struct redisAsyncContext;

namespace dh::store {

// A reply, owned: hiredis frees its own as soon as the callback returns.
struct redis_reply {
  enum class kind { string, array, integer, nil, status, error };
  kind type = kind::nil;
  std::string text;  // string, status and error
  long long integer = 0;
  std::vector<redis_reply> elements;

  bool is_error() const noexcept { return type == kind::error; }
  bool is_nil() const noexcept { return type == kind::nil; }
};

struct redis_timing {
  std::chrono::milliseconds first{100};  // reconnect backoff: first delay, doubling up to cap
  std::chrono::milliseconds cap{5000};
  std::chrono::milliseconds connect_timeout{2000};
  // A connection whose oldest command has had no reply for this long is taken for dead (a host
  // gone without closing the socket) and dropped. Longer than the bus's XREAD BLOCK (5 s).
  std::chrono::milliseconds reply_timeout{15000};
};

class redis_client {
 public:
  // Runs after each connect (after AUTH and SELECT), before the client counts as up: load
  // scripts here. Runs on the client's executor; may call command_while_connecting().
  using setup_fn = std::function<boost::asio::awaitable<void>(redis_client&)>;
  using state_fn = std::function<void(bool up)>;
  // Where the master is now (Sentinel), asked before each connect; nullopt: not known yet.
  using locate_fn = std::function<boost::asio::awaitable<std::optional<redis_endpoint>>()>;

  // `executor` must run on one thread: hiredis is not thread-safe, and every hiredis call is
  // made there. `name` tells this connection apart in the log.
  redis_client(boost::asio::any_io_executor executor, redis_endpoint endpoint, std::string name,
               const core::logger& log, redis_timing timing = {});
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  // Both before start().
  void on_setup(setup_fn fn) { setup_ = std::move(fn); }
  void on_state(state_fn fn) { on_state_ = std::move(fn); }
  // The endpoint's host and port come from `fn` at each connect (its credentials and db stay),
  // and a server that is not a master (ROLE) is not used: it is dropped and asked again.
  void on_locate(locate_fn fn) { locate_ = std::move(fn); }

  // Connects and keeps reconnecting until stop().
  void start();
  // Drops the connection (pending commands fail) and stops reconnecting. Safe from any thread;
  // the executor must still run for it to take effect.
  void stop();

  // From any executor; resumes there. An error reply is returned as a reply; throws
  // core::store_unavailable when the client is not up or the connection drops before the reply.
  boost::asio::awaitable<redis_reply> command(std::vector<std::string> args);
  // For setup_fn only: the same, while the connection is open but not yet up.
  boost::asio::awaitable<redis_reply> command_while_connecting(std::vector<std::string> args);

  // On the client's executor: resumes once the client is up (at once if it is), or stopped.
  boost::asio::awaitable<void> wait_up();

  // Drops the connection if it is to another server than `endpoint` (the master moved): the
  // next connect asks where the master is. Any thread.
  void leave_unless_at(const redis_endpoint& endpoint);
  // Where it connects; the client's executor only.
  const redis_endpoint& endpoint() const noexcept { return endpoint_; }

  bool up() const noexcept { return up_.load(std::memory_order_acquire); }
  bool stopped() const noexcept { return stopping_; }  // the client's executor only
  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

 private:
  struct watcher;

  boost::asio::awaitable<void> supervise();
  boost::asio::awaitable<bool> connect_once();
  boost::asio::awaitable<bool> locate();
  boost::asio::awaitable<bool> is_master();
  boost::asio::awaitable<void> watch_replies();
  boost::asio::awaitable<redis_reply> send(std::vector<std::string> args, bool require_up);
  void set_up(bool up);
  void drop();  // frees the context; its pending commands fail
  void leave(std::string_view why);  // drops a connection to the wrong server and reconnects
  std::chrono::milliseconds next_delay(unsigned attempt);

  static void on_connect(const redisAsyncContext* c, int status);
  static void on_reply(redisAsyncContext* c, void* reply, void* privdata);
  static void on_disconnect(const redisAsyncContext* c, int status);

  boost::asio::any_io_executor executor_;
  redis_endpoint endpoint_;
  std::string name_;
  const core::logger& log_;
  redis_timing timing_;
  setup_fn setup_;
  state_fn on_state_;
  locate_fn locate_;

  // Executor thread only.
  redisAsyncContext* context_ = nullptr;
  std::shared_ptr<watcher> watcher_;
  bool connected_ = false;  // the TCP connection is open (AUTH and setup may still run)
  std::deque<std::chrono::steady_clock::time_point> sent_;  // commands awaiting replies, oldest first
  bool stopping_ = false;
  boost::asio::steady_timer signal_;  // woken by connect, disconnect and stop
  boost::asio::steady_timer delay_;
  boost::asio::steady_timer up_signal_;  // woken when the client comes up or stops
  std::minstd_rand jitter_{std::random_device{}()};

  std::atomic<bool> up_{false};
};

// A Lua script run by EVALSHA with its SHA1 computed here, so no instance shares mutable state
// about what Redis has loaded; a NOSCRIPT reply (Redis restarted) loads it and runs it again.
class redis_script {
 public:
  explicit redis_script(std::string_view text);
  const std::string& sha1() const noexcept { return sha1_; }
  const std::string& text() const noexcept { return text_; }
  // `keys` then `args`, as EVALSHA takes them.
  boost::asio::awaitable<redis_reply> run(redis_client& client, std::vector<std::string> keys,
                                          std::vector<std::string> args) const;
  // The same, from a client's setup step (after load()).
  boost::asio::awaitable<redis_reply> run_while_connecting(redis_client& client, std::vector<std::string> keys,
                                                           std::vector<std::string> args) const;
  // SCRIPT LOAD, for a client's setup step.
  boost::asio::awaitable<void> load(redis_client& client) const;

 private:
  std::string text_;
  std::string sha1_;
};

// The completion of a background coroutine (bus reader, lease renewal): an exception that ends
// it is logged with `what`, never lost.
std::function<void(std::exception_ptr)> log_if_failed(const core::logger& log, std::string what);

// Whether `reply` is an error whose text starts with `prefix` (e.g. "NOSCRIPT").
bool is_error(const redis_reply& reply, std::string_view prefix) noexcept;

}  // namespace dh::store
