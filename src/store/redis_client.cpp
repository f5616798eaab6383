#include "store/redis_client.hpp"

#include "core/store.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <hiredis/async.h>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>

namespace dh::store {

namespace asio = boost::asio;
using core::store_unavailable;

namespace {

constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);

redis_reply decode(const redisReply& r) {
  redis_reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(decode(*r.element[i]));
      break;
    default:
      out.type = redis_reply::kind::nil;
  }
  return out;
}

using reply_handler = asio::any_completion_handler<void(std::exception_ptr, redis_reply)>;

struct pending_command {
  reply_handler done;
  asio::any_io_executor work;  // keeps the caller's executor from running out of work meanwhile
  bool discard = false;        // the client is being destroyed: nobody waits any more
};

// Always posted, never run inline: a caller on the client's own thread must not resume inside
// hiredis (a reply callback, or redisAsyncFree failing the pending commands).
void complete(reply_handler handler, std::exception_ptr error, redis_reply reply) {
  auto home = asio::prefer(asio::get_associated_executor(handler), asio::execution::blocking.never);
  home.execute([handler = std::move(handler), error, reply = std::move(reply)]() mutable {
    std::move(handler)(error, std::move(reply));
  });
}

void fail(reply_handler handler, std::string why) {
  complete(std::move(handler), std::make_exception_ptr(store_unavailable(std::move(why))), redis_reply{});
}

}  // namespace

void redis_client::on_reply(redisAsyncContext* c, void* reply, void* privdata) {
  std::unique_ptr<pending_command> pending(static_cast<pending_command*>(privdata));
  if (pending->discard) return;
  if (auto* self = static_cast<redis_client*>(c->data); self != nullptr && !self->sent_.empty())
    self->sent_.pop_front();  // replies come in the order commands were sent
  if (reply == nullptr) {
    fail(std::move(pending->done), "redis: the connection closed before the reply");
    return;
  }
  auto decoded = decode(*static_cast<redisReply*>(reply));
  // A master demoted by a failover answers writes READONLY: this connection is to the wrong
  // server, so it is dropped (never from inside hiredis) and the next connect asks where to go.
  if (auto* self = static_cast<redis_client*>(c->data); self != nullptr && is_error(decoded, "READONLY")) {
    asio::post(self->executor_, [self, c] {
      if (self->context_ == c) self->leave("it is a replica now; reconnecting to the master");
    });
  }
  complete(std::move(pending->done), std::exception_ptr(), std::move(decoded));
}

std::function<void(std::exception_ptr)> log_if_failed(const core::logger& log, std::string what) {
  return [&log, what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log.error("{} stopped: {}", what, ex.what());
    }
  };
}

bool is_error(const redis_reply& reply, std::string_view prefix) noexcept {
  return reply.is_error() && std::string_view(reply.text).starts_with(prefix);
}

// hiredis's event hooks mapped onto a descriptor that Asio's reactor watches. hiredis owns the
// socket: the descriptor is released, never closed, when hiredis cleans up.
struct redis_client::watcher : std::enable_shared_from_this<watcher> {
  watcher(const asio::any_io_executor& ex, int fd, redisAsyncContext* c) : descriptor(ex, fd), context(c) {}

  asio::posix::stream_descriptor descriptor;
  redisAsyncContext* context;
  bool want_read = false, want_write = false, read_armed = false, write_armed = false;

  void arm_read() {
    if (read_armed || !want_read || context == nullptr) return;
    read_armed = true;
    descriptor.async_wait(asio::posix::descriptor_base::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      self->read_armed = false;
      if (ec || !self->want_read || self->context == nullptr) return;
      redisAsyncHandleRead(self->context);  // may free the context: cleanup() clears it
      self->arm_read();
    });
  }
  void arm_write() {
    if (write_armed || !want_write || context == nullptr) return;
    write_armed = true;
    descriptor.async_wait(asio::posix::descriptor_base::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
      self->write_armed = false;
      if (ec || !self->want_write || self->context == nullptr) return;
      redisAsyncHandleWrite(self->context);
      self->arm_write();
    });
  }
  void detach() {
    context = nullptr;
    want_read = want_write = false;
    boost::system::error_code ignored;
    descriptor.cancel(ignored);
    (void)descriptor.release();
  }

  static watcher& of(void* p) { return *static_cast<watcher*>(p); }
  static void add_read(void* p) {
    of(p).want_read = true;
    of(p).arm_read();
  }
  static void del_read(void* p) { of(p).want_read = false; }
  static void add_write(void* p) {
    of(p).want_write = true;
    of(p).arm_write();
  }
  static void del_write(void* p) { of(p).want_write = false; }
  static void cleanup(void* p) { of(p).detach(); }
};

redis_client::redis_client(asio::any_io_executor executor, redis_endpoint endpoint, std::string name,
                           const core::logger& log, redis_timing backoff)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      name_(std::move(name)),
      log_(log),
      timing_(backoff),
      signal_(executor_),
      delay_(executor_),
      up_signal_(executor_) {
  up_signal_.expires_at(asio::steady_timer::time_point::max());
}

redis_client::~redis_client() {
  // Normally stop() already freed the context on its thread; this is the executor-stopped path,
  // where the waiting callers' executors may be gone too, so pending replies are discarded.
  if (context_ != nullptr) {
    for (redisCallback* cb = context_->replies.head; cb != nullptr; cb = cb->next)
      if (cb->privdata != nullptr) static_cast<pending_command*>(cb->privdata)->discard = true;
    auto* c = std::exchange(context_, nullptr);
    redisAsyncFree(c);
  }
}

void redis_client::start() { asio::co_spawn(executor_, supervise(), asio::detached); }

void redis_client::stop() {
  asio::post(executor_, [this] {
    stopping_ = true;
    drop();
    signal_.cancel();
    delay_.cancel();
    up_signal_.cancel();
  });
}

void redis_client::leave_unless_at(const redis_endpoint& endpoint) {
  asio::post(executor_, [this, host = endpoint.host, port = endpoint.port] {
    if (context_ == nullptr || (endpoint_.host == host && endpoint_.port == port)) return;
    leave(fmt::format("the master moved to {}:{}", host, port));
  });
}

void redis_client::leave(std::string_view why) {
  log_.warn("redis {}: leaving {}: {}", name_, endpoint_.describe(), why);
  drop();
  signal_.cancel();  // the supervisor notices and connects again, asking where to go
}

asio::awaitable<void> redis_client::wait_up() {
  while (!up() && !stopping_) (void)co_await up_signal_.async_wait(as_tuple);
}

asio::awaitable<redis_reply> redis_client::command(std::vector<std::string> args) {
  return send(std::move(args), true);
}

asio::awaitable<redis_reply> redis_client::command_while_connecting(std::vector<std::string> args) {
  return send(std::move(args), false);
}

asio::awaitable<redis_reply> redis_client::send(std::vector<std::string> args, bool require_up) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, redis_reply)>(
      [this, require_up](auto handler, std::vector<std::string> argv_strings) {
        asio::any_io_executor work = asio::prefer(asio::get_associated_executor(handler, executor_),
                                                  asio::execution::outstanding_work.tracked);
        asio::post(executor_, [this, require_up, handler = std::move(handler), work = std::move(work),
                               argv_strings = std::move(argv_strings)]() mutable {
          if (context_ == nullptr || !connected_ || (require_up && !up())) {
            fail(reply_handler(std::move(handler)), "redis " + name_ + ": not connected to " + endpoint_.describe());
            return;
          }
          std::vector<const char*> argv;
          std::vector<std::size_t> lengths;
          argv.reserve(argv_strings.size());
          lengths.reserve(argv_strings.size());
          for (const auto& a : argv_strings) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
          }
          auto pending =
              std::make_unique<pending_command>(pending_command{reply_handler(std::move(handler)), std::move(work)});
          // hiredis copies the arguments into its output buffer before this returns.
          if (redisAsyncCommandArgv(context_, &on_reply, pending.get(), static_cast<int>(argv.size()), argv.data(),
                                    lengths.data()) != REDIS_OK) {
            fail(std::move(pending->done), "redis " + name_ + ": the connection is closing");
            return;
          }
          (void)pending.release();  // owned by hiredis's callback list until on_reply
          sent_.push_back(std::chrono::steady_clock::now());
        });
      },
      asio::use_awaitable, std::move(args));
}

void redis_client::on_connect(const redisAsyncContext* c, int status) {
  auto& self = *static_cast<redis_client*>(c->data);
  if (status != REDIS_OK) {
    self.log_.debug("redis {}: connecting to {} failed: {}", self.name_, self.endpoint_.describe(), c->errstr);
    self.context_ = nullptr;  // hiredis frees a context whose connect failed
  } else {
    self.connected_ = true;
  }
  self.signal_.cancel();
}

void redis_client::on_disconnect(const redisAsyncContext* c, int status) {
  auto& self = *static_cast<redis_client*>(c->data);
  if (status != REDIS_OK && !self.stopping_)
    self.log_.warn("redis {}: connection to {} lost: {}", self.name_, self.endpoint_.describe(), c->errstr);
  self.context_ = nullptr;  // hiredis frees it after this callback
  self.connected_ = false;
  self.signal_.cancel();
}

void redis_client::drop() {
  connected_ = false;
  sent_.clear();
  if (auto* c = std::exchange(context_, nullptr)) redisAsyncFree(c);  // pending commands fail now
}

void redis_client::set_up(bool up) {
  if (up_.exchange(up, std::memory_order_acq_rel) == up) return;
  if (up) up_signal_.cancel();
  if (on_state_) on_state_(up);
}

std::chrono::milliseconds redis_client::next_delay(unsigned attempt) {
  // Capped exponential backoff with jitter in [delay/2, delay], so instances do not retry in step.
  const auto shift = std::min(attempt, 16U);
  const auto full = std::min<std::int64_t>(timing_.cap.count(), timing_.first.count() << shift);
  std::uniform_int_distribution<std::int64_t> pick(full / 2, full);
  return std::chrono::milliseconds(pick(jitter_));
}

asio::awaitable<bool> redis_client::locate() {
  auto found = co_await locate_();
  if (!found) co_return false;
  if (found->host != endpoint_.host || found->port != endpoint_.port) {
    log_.info("redis {}: the master is at {}:{} (from Sentinel)", name_, found->host, found->port);
    endpoint_.host = found->host;
    endpoint_.port = found->port;
  }
  co_return true;
}

asio::awaitable<bool> redis_client::is_master() {
  std::vector<std::string> role{"ROLE"};
  const auto reply = co_await command_while_connecting(std::move(role));
  if (!reply.elements.empty() && reply.elements[0].text == "master") co_return true;
  log_.warn("redis {}: {} is not a master (Sentinel has not switched yet?); asking again", name_, endpoint_.describe());
  co_return false;
}

asio::awaitable<bool> redis_client::connect_once() {
  if (locate_ && !co_await locate()) co_return false;
  redisAsyncContext* c = redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port);
  if (c == nullptr) throw std::bad_alloc();
  if (c->err) {
    log_.debug("redis {}: connecting to {} failed: {}", name_, endpoint_.describe(), c->errstr);
    redisAsyncFree(c);
    co_return false;
  }
  context_ = c;
  c->data = this;
  sent_.clear();
  // Keepalive probes notice a peer that vanished without closing; the reply timeout does the rest.
  (void)redisEnableKeepAlive(&c->c);
  watcher_ = std::make_shared<watcher>(executor_, c->c.fd, c);
  c->ev.data = watcher_.get();
  c->ev.addRead = &watcher::add_read;
  c->ev.delRead = &watcher::del_read;
  c->ev.addWrite = &watcher::add_write;
  c->ev.delWrite = &watcher::del_write;
  c->ev.cleanup = &watcher::cleanup;
  redisAsyncSetDisconnectCallback(c, &on_disconnect);
  redisAsyncSetConnectCallback(c, &on_connect);  // arms the first write event: hooks come first

  signal_.expires_after(timing_.connect_timeout);
  while (context_ != nullptr && !connected_ && !stopping_) {
    auto [ec] = co_await signal_.async_wait(as_tuple);
    if (!ec) break;  // timed out
  }
  signal_.expires_at(asio::steady_timer::time_point::max());
  if (context_ == nullptr || !connected_ || stopping_) {
    drop();
    co_return false;
  }

  if (!endpoint_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint_.user.empty()) auth.push_back(endpoint_.user);
    auth.push_back(endpoint_.password);
    if (auto r = co_await command_while_connecting(std::move(auth)); r.is_error()) {
      log_.error("redis {}: AUTH refused by {}: {}", name_, endpoint_.describe(), r.text);
      drop();
      co_return false;
    }
  }
  if (endpoint_.db != 0) {
    std::vector<std::string> select{"SELECT", std::to_string(endpoint_.db)};
    if (auto r = co_await command_while_connecting(std::move(select)); r.is_error()) {
      log_.error("redis {}: SELECT {} refused: {}", name_, endpoint_.db, r.text);
      drop();
      co_return false;
    }
  }
  std::vector<std::string> setname{"CLIENT", "SETNAME", "dashboard-hub-" + name_};
  (void)co_await command_while_connecting(std::move(setname));
  if (locate_ && !co_await is_master()) {
    drop();
    co_return false;
  }
  if (setup_) co_await setup_(*this);
  co_return context_ != nullptr && connected_;
}

asio::awaitable<void> redis_client::watch_replies() {
  // Until the connection drops (signal_ is woken) or a reply is overdue (checked each second).
  while (context_ != nullptr && !stopping_) {
    signal_.expires_after(std::chrono::seconds(1));
    (void)co_await signal_.async_wait(as_tuple);
    if (context_ == nullptr || stopping_ || sent_.empty()) continue;
    const auto waited = std::chrono::steady_clock::now() - sent_.front();
    if (waited > timing_.reply_timeout) {
      log_.warn("redis {}: no reply from {} for {} s; dropping the connection", name_, endpoint_.describe(),
                std::chrono::duration_cast<std::chrono::seconds>(waited).count());
      drop();
    }
  }
  signal_.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<void> redis_client::supervise() {
  unsigned attempt = 0;
  while (!stopping_) {
    bool ok = false;
    try {
      ok = co_await connect_once();
    } catch (const std::exception& e) {
      log_.error("redis {}: setting up the connection to {} failed: {}", name_, endpoint_.describe(), e.what());
      drop();
    }
    if (ok) {
      log_.info("redis {}: connected to {}", name_, endpoint_.describe());
      attempt = 0;
      set_up(true);
      co_await watch_replies();
      set_up(false);
    }
    if (stopping_) break;
    const auto wait = next_delay(attempt);
    if (attempt % 10 == 0)
      log_.warn("redis {}: {} unreachable, retrying in {} ms (attempt {})", name_, endpoint_.describe(), wait.count(),
                attempt + 1);
    ++attempt;
    delay_.expires_after(wait);
    (void)co_await delay_.async_wait(as_tuple);
  }
  set_up(false);
}

redis_script::redis_script(std::string_view text) : text_(text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text_.data(), text_.size(), digest, &size, EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("SHA1 of a Redis script failed");
  for (unsigned int i = 0; i < size; ++i) sha1_ += fmt::format("{:02x}", digest[i]);
}

namespace {

std::vector<std::string> evalsha(const std::string& sha1, std::vector<std::string> keys, std::vector<std::string> args) {
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + args.size());
  command.emplace_back("EVALSHA");
  command.push_back(sha1);
  command.push_back(std::to_string(keys.size()));
  std::move(keys.begin(), keys.end(), std::back_inserter(command));
  std::move(args.begin(), args.end(), std::back_inserter(command));
  return command;
}

}  // namespace

asio::awaitable<redis_reply> redis_script::run_while_connecting(redis_client& client, std::vector<std::string> keys,
                                                                std::vector<std::string> args) const {
  co_return co_await client.command_while_connecting(evalsha(sha1_, std::move(keys), std::move(args)));
}

asio::awaitable<redis_reply> redis_script::run(redis_client& client, std::vector<std::string> keys,
                                               std::vector<std::string> args) const {
  auto command = evalsha(sha1_, std::move(keys), std::move(args));
  auto reply = co_await client.command(command);
  if (!is_error(reply, "NOSCRIPT")) co_return reply;
  co_await load(client);
  co_return co_await client.command(std::move(command));
}

asio::awaitable<void> redis_script::load(redis_client& client) const {
  std::vector<std::string> load{"SCRIPT", "LOAD", text_};
  auto reply = co_await client.command_while_connecting(std::move(load));
  if (reply.is_error()) throw core::store_error("redis SCRIPT LOAD: " + reply.text);
  if (reply.text != sha1_) throw core::store_error("redis SCRIPT LOAD returned " + reply.text + ", expected " + sha1_);
}

}  // namespace dh::store
