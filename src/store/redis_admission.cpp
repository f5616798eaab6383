#include "store/redis_admission.hpp"

#include "store/redis_schema.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

namespace dh::store {

namespace asio = boost::asio;

namespace {
constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds retry_every{50};
constexpr std::size_t renew_chunk = 1000;  // leases per script run, so Redis never stalls long
}  // namespace

redis_admission::redis_admission(redis_client& redis, core::admission_settings limits, lease_settings leases,
                                 const core::logger& log)
    : redis_(redis),
      limits_(limits),
      leases_(std::move(leases)),
      log_(log),
      acquire_(redis_schema::lease_acquire_script),
      renew_(redis_schema::lease_renew_script),
      release_(redis_schema::lease_release_script) {}

std::string redis_admission::member(std::uint64_t session) const {
  return fmt::format("{}:{}", leases_.instance, session);
}

std::vector<std::string> redis_admission::keys_of(const std::string& user) const {
  return {redis_schema::lease_key(leases_.prefix, user), redis_schema::route_key(leases_.prefix, user)};
}

std::vector<std::string> redis_admission::acquire_args(std::uint64_t session) const {
  return {member(session), std::to_string(limits_.max_per_user), std::to_string(leases_.ttl.count())};
}

asio::awaitable<bool> redis_admission::acquire(std::string user, std::uint64_t session) {
  const auto deadline = std::chrono::steady_clock::now() + limits_.wait;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (;;) {
    auto reply = co_await acquire_.run(redis_, keys_of(user), acquire_args(session));
    if (reply.is_error()) throw core::store_error("redis lease acquire: " + reply.text);
    if (reply.integer == 1) {
      std::lock_guard lock(mutex_);
      held_.insert_or_assign(session, std::move(user));
      co_return true;
    }
    // At the limit: a reload's old session may be releasing its lease on some instance now.
    if (std::chrono::steady_clock::now() + retry_every > deadline) co_return false;
    pause.expires_after(retry_every);
    (void)co_await pause.async_wait(as_tuple);
  }
}

void redis_admission::release(std::string user, std::uint64_t session) {
  {
    std::lock_guard lock(mutex_);
    if (held_.erase(session) == 0) return;
  }
  asio::co_spawn(
      redis_.executor(), release_.run(redis_, keys_of(user), {member(session), std::to_string(leases_.ttl.count())}),
      [this, user](std::exception_ptr e, redis_reply reply) {
        if (e || reply.is_error())
          log_.debug("redis: releasing a lease of user={} failed; it lapses within the TTL", user);
      });
}

void redis_admission::on_lapsed(std::function<void(const std::string&, std::uint64_t)> fn) {
  std::lock_guard lock(mutex_);
  lapsed_ = std::move(fn);
}

asio::awaitable<void> redis_admission::load_scripts(redis_client& client) const {
  co_await acquire_.load(client);
  co_await renew_.load(client);
  co_await release_.load(client);
}

void redis_admission::start() {
  asio::co_spawn(redis_.executor(), renew_loop(), log_if_failed(log_, "redis lease renewal"));
}

asio::awaitable<void> redis_admission::renew_loop() {
  asio::steady_timer tick(redis_.executor());
  while (!redis_.stopped()) {
    tick.expires_after(leases_.ttl / 3);
    (void)co_await tick.async_wait(as_tuple);
    if (redis_.stopped()) co_return;
    try {
      co_await renew_held();
    } catch (const core::store_error& e) {
      log_.warn("redis: renewing connection leases failed: {}", e.what());
    }
  }
}

asio::awaitable<void> redis_admission::renew_held() {
  std::vector<std::pair<std::uint64_t, std::string>> snapshot;
  {
    std::lock_guard lock(mutex_);
    snapshot.assign(held_.begin(), held_.end());
  }
  std::vector<std::pair<std::uint64_t, std::string>> missing;
  for (std::size_t at = 0; at < snapshot.size(); at += renew_chunk) {
    const auto end = std::min(snapshot.size(), at + renew_chunk);
    std::vector<std::string> args{std::to_string(leases_.ttl.count()), leases_.instance};
    for (std::size_t i = at; i < end; ++i) {
      args.push_back(redis_schema::lease_key(leases_.prefix, snapshot[i].second));
      args.push_back(redis_schema::route_key(leases_.prefix, snapshot[i].second));
      args.push_back(member(snapshot[i].first));
    }
    std::vector<std::string> no_keys;
    auto reply = co_await renew_.run(redis_, std::move(no_keys), std::move(args));
    if (reply.is_error()) throw core::store_error("lease renewal script: " + reply.text);
    for (const auto& position : reply.elements) {
      const auto i = at + static_cast<std::size_t>(position.integer);
      if (i < end) missing.push_back(snapshot[i]);
    }
  }
  // A lease gone from Redis belongs to a session either released since the snapshot (nothing to
  // do) or still open after its lease lapsed (a long outage). Batches go to the instances with a
  // live lease, so that one may have missed some: it takes its slot again if it can, and is asked
  // to resume (its client replays from history, as on any other instance).
  std::size_t lost = 0, lapsed = 0;
  for (auto& [session, user] : missing) {
    {
      std::lock_guard lock(mutex_);
      if (!held_.contains(session)) continue;
    }
    ++lapsed;
    auto reply = co_await acquire_.run(redis_, keys_of(user), acquire_args(session));
    if (reply.is_error() || reply.integer != 1) ++lost;
    std::lock_guard lock(mutex_);
    if (lapsed_) lapsed_(user, session);
  }
  if (lapsed > 0)
    log_.warn("redis: {} connection leases had lapsed ({} of their slots are taken by other sessions); those sessions "
              "resume",
              lapsed, lost);
}

}  // namespace dh::store
