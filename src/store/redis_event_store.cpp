#include "store/redis_event_store.hpp"

#include "core/memory_store.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <utility>

namespace dh::store {

namespace asio = boost::asio;

namespace {

std::int64_t epoch_ms(core::wall_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A Redis integer, or a bulk string of one (HMGET and script replies); nil or empty is 0.
template <class Integer>
Integer integer_in(const redis_reply& r, std::string_view what) {
  if (r.type == redis_reply::kind::integer) return static_cast<Integer>(r.integer);
  if (r.is_nil() || r.text.empty()) return 0;
  Integer value = 0;
  const auto [end, ec] = std::from_chars(r.text.data(), r.text.data() + r.text.size(), value);
  if (ec != std::errc() || end != r.text.data() + r.text.size())
    throw core::store_error(fmt::format("redis: {} is '{}', not a number", what, r.text));
  return value;
}

std::uint64_t number_in(const redis_reply& r, std::string_view what) { return integer_in<std::uint64_t>(r, what); }
std::int64_t signed_in(const redis_reply& r, std::string_view what) { return integer_in<std::int64_t>(r, what); }

void expect_no_error(const redis_reply& r, std::string_view what) {
  if (r.is_error()) throw core::store_error(fmt::format("redis {}: {}", what, r.text));
}

}  // namespace

std::string durability_of(std::string_view appendonly, std::string_view appendfsync, std::string_view save,
                          unsigned min_replicas) {
  std::string out;
  if (appendonly == "yes" && appendfsync == "always")
    out = "on disk: Redis appends each batch to its append-only file and fsyncs it before the 202";
  else if (appendonly == "yes" && appendfsync == "everysec")
    out = "in Redis's memory and append-only file, fsynced within about a second (appendfsync everysec): a crash of "
          "the Redis host can lose the last second";
  else if (appendonly == "yes")
    out = fmt::format("in Redis's memory and append-only file, written to disk when the OS chooses (appendfsync {}): "
                      "a crash of the Redis host can lose the last writes",
                      appendfsync);
  else if (!save.empty())
    out = fmt::format("in Redis's memory only, on disk at the next snapshot (save {}): a Redis crash loses what came "
                      "after the last snapshot",
                      save);
  else
    out = "in Redis's memory only (no persistence): a Redis restart loses everything";
  if (min_replicas > 0) out += fmt::format("; and on {} replica(s) before the 202 (WAIT)", min_replicas);
  return out;
}

redis_event_store::redis_event_store(redis_client& commands, const redis_bus& bus, redis_epoch_watch& epoch,
                                     redis_store_settings settings, const core::logger& log)
    : redis_(commands),
      bus_(bus),
      epoch_(epoch),
      settings_(std::move(settings)),
      log_(log),
      apply_(redis_schema::apply_script),
      history_(redis_schema::history_script),
      stats_(redis_schema::stats_script),
      epoch_script_(redis_schema::epoch_script) {}

asio::awaitable<void> redis_event_store::set_up(redis_client& client) {
  for (const auto* script : {&apply_, &history_, &stats_, &epoch_script_}) co_await script->load(client);
  co_await enter_epoch(client);
  co_await read_persistence(client);
}

void redis_event_store::connected() {
  if (!std::exchange(history_lost_pending_, false)) return;
  std::lock_guard lock(history_lost_mutex_);
  if (history_lost_) history_lost_();
}

void redis_event_store::on_history_lost(std::function<void()> fn) {
  std::lock_guard lock(history_lost_mutex_);
  history_lost_ = std::move(fn);
}

asio::awaitable<void> redis_event_store::enter_epoch(redis_client& client) {
  const auto seen = epoch_.writes_seen();
  const auto known = epoch_.number();
  std::vector<std::string> args{settings_.prefix, std::to_string(seen), std::to_string(known)};
  const auto reply = co_await epoch_script_.run_while_connecting(client, {}, std::move(args));
  expect_no_error(reply, "epoch script");
  if (reply.elements.size() != 5) throw core::store_error("redis epoch script: malformed reply");
  const auto base = number_in(reply.elements[0], "epoch base");
  const auto number = number_in(reply.elements[1], "epoch number");
  const auto started = number_in(reply.elements[2], "epoch started");
  const auto writes = number_in(reply.elements[3], "batches applied");
  epoch_.entered(number, base);
  epoch_.saw({writes, base});
  // Another epoch than this instance last saw, whoever started it: its sessions may hold updates
  // the store no longer has, so they resume and hear recovered:false.
  if (known != 0 && number != known) {
    log_.warn("redis store: epoch {} replaced epoch {} while this instance was away; its sessions resume", number, known);
    history_lost_pending_ = true;  // told once the connection is up, so the sessions can come back at once
  }
  if (started == 0) {
    log_.info("redis store: epoch {} (ids above {}), {} batches applied", number, base, writes);
  } else if (started == 2 || seen > 0) {
    log_.error("redis store: Redis lost writes: it {} while this instance saw {} batches applied; epoch {} starts, "
               "ids continue above {}, and a resume from an earlier id gets recovered:false",
               started == 2 ? "counts fewer" : "holds no epoch", seen, number, base);
  } else {
    log_.warn("redis store: no epoch in Redis (a new or emptied Redis, or the first run of this version): epoch {} "
              "starts, ids continue above {}",
              number, base);
  }
}

asio::awaitable<void> redis_event_store::read_persistence(redis_client& client) {
  std::string found[3];
  const char* names[3] = {"appendonly", "appendfsync", "save"};
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> get{"CONFIG", "GET", names[i]};
    const auto reply = co_await client.command_while_connecting(std::move(get));
    if (reply.is_error()) {
      // Managed Redis services often rename CONFIG away; say so rather than guess.
      std::lock_guard lock(durability_mutex_);
      durability_ = fmt::format("unknown: Redis refused CONFIG GET ({})", reply.text);
      log_.warn("redis store: what a 202 guarantees is {}", durability_);
      co_return;
    }
    if (reply.elements.size() == 2) found[i] = reply.elements[1].text;
  }
  auto text = durability_of(found[0], found[1], found[2], settings_.min_replicas);
  const bool on_disk = found[0] == "yes" && found[1] == "always";
  if (on_disk)
    log_.info("redis store: a 202 means {}", text);
  else
    log_.warn("redis store: a 202 means {}. For \"202 means on disk\" run Redis with appendonly yes and appendfsync "
              "always",
              text);
  std::lock_guard lock(durability_mutex_);
  durability_ = std::move(text);
}

asio::awaitable<void> redis_event_store::confirm_on_replicas() {
  if (settings_.min_replicas == 0) co_return;
  // WAIT blocks this connection only until the replicas answer, or the timeout: what follows it
  // in the pipeline waits too, which is what a 202 that means "replicated" costs.
  std::vector<std::string> wait{"WAIT", std::to_string(settings_.min_replicas),
                                std::to_string(settings_.replica_timeout.count())};
  const auto reply = co_await redis_.command(std::move(wait));
  expect_no_error(reply, "WAIT");
  if (reply.type != redis_reply::kind::integer || reply.integer < static_cast<long long>(settings_.min_replicas))
    throw core::store_unavailable(fmt::format("redis: the batch reached {} of the {} replicas required within {} ms",
                                              reply.integer, settings_.min_replicas, settings_.replica_timeout.count()));
}

core::store_report redis_event_store::report() const {
  core::store_report r{"redis", {}, epoch_.number(), epoch_.base()};
  std::lock_guard lock(durability_mutex_);
  r.durability = durability_;
  return r;
}

asio::awaitable<std::shared_ptr<const core::apply_result>> redis_event_store::apply(
    std::vector<protocol::task_event> events, core::wall_time now) {
  std::vector<std::string> args;
  args.reserve(9 + 9 * events.size());
  args.push_back(settings_.prefix);
  args.push_back(std::to_string(epoch_ms(now)));
  args.push_back(std::to_string(std::max<std::size_t>(settings_.history.max_events, 1)));
  args.push_back(std::to_string(std::max<std::int64_t>(settings_.history.max_age.count(), 1)));
  args.push_back(std::to_string(settings_.bus_max_length));
  args.push_back(std::to_string(epoch_.writes_seen()));
  args.push_back(std::to_string(epoch_.number()));
  args.push_back(std::to_string(settings_.inbox_ttl.count()));
  args.push_back(std::to_string(events.size()));
  for (const auto& e : events) redis_schema::append_event_args(args, e);

  std::vector<std::string> no_keys;
  const auto reply = co_await apply_.run(redis_, std::move(no_keys), std::move(args));
  expect_no_error(reply, "apply script");
  if (reply.type != redis_reply::kind::string) throw core::store_error("redis apply script: no batch record returned");
  auto result = std::make_shared<const core::apply_result>(decode_watched(reply.text, epoch_, redis_schema::record_kind::receipt));
  co_await confirm_on_replicas();
  co_return result;
}

asio::awaitable<core::user_stats> redis_event_store::stats(std::string user) {
  std::vector<std::string> args{settings_.prefix, std::move(user)};
  const auto reply = co_await stats_.run(redis_, {}, std::move(args));
  expect_no_error(reply, "statistics script");
  if (reply.elements.size() != 4) throw core::store_error("redis statistics script: expected 4 fields");
  core::user_stats s;
  s.total = signed_in(reply.elements[0], "total");
  s.completed = signed_in(reply.elements[1], "completed");
  if (const auto ms = signed_in(reply.elements[2], "statistics time"); ms != 0)
    s.updated_at = core::wall_time(std::chrono::milliseconds(ms));
  s.last_event_id = number_in(reply.elements[3], "last event id");
  co_return s;
}

asio::awaitable<core::history_page> redis_event_store::history(std::string user, std::uint64_t after,
                                                               std::size_t limit, core::wall_time now) {
  // Stream ids are <eventId>-0, so the page starts at after+1; past the largest id there is none.
  const std::string from = after == std::numeric_limits<std::uint64_t>::max() ? "" : fmt::format("{}-0", after + 1);
  const auto cutoff = epoch_ms(now - settings_.history.max_age);
  std::vector<std::string> args{settings_.prefix, user, from, std::to_string(limit), std::to_string(cutoff)};
  std::vector<std::string> no_keys;
  const auto reply = co_await history_.run(redis_, std::move(no_keys), std::move(args));
  expect_no_error(reply, "history script");
  if (reply.elements.size() < 4 || reply.elements.size() % 2 != 0)
    throw core::store_error("redis history script: malformed reply");
  core::history_page page;
  page.last_event_id = number_in(reply.elements[0], "last event id");
  const auto oldest = number_in(reply.elements[1], "oldest history id");
  const auto base = number_in(reply.elements[2], "epoch base");
  const auto number = number_in(reply.elements[3], "epoch number");
  // 0 asks for everything: in the first epoch that is everything above its base. An id from
  // before this epoch cannot be covered: what the lost writes held after it is gone for good.
  const auto covered_from = after == 0 && number <= 1 ? base : after;
  page.complete = covered_from >= base && core::history_covers(covered_from, oldest, page.last_event_id);
  for (std::size_t i = 4; i + 1 < reply.elements.size(); i += 2)
    page.entries.push_back({number_in(reply.elements[i], "history id"), reply.elements[i + 1].text});
  co_return page;
}

}  // namespace dh::store
