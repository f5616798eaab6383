#include "store/redis_event_store.hpp"

#include "core/memory_store.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>

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

redis_event_store::redis_event_store(redis_client& commands, const redis_bus& bus, redis_store_settings settings)
    : redis_(commands),
      bus_(bus),
      settings_(std::move(settings)),
      apply_(redis_schema::apply_script),
      history_(redis_schema::history_script) {}

asio::awaitable<void> redis_event_store::load_scripts(redis_client& client) const {
  co_await apply_.load(client);
  co_await history_.load(client);
}

asio::awaitable<std::shared_ptr<const core::apply_result>> redis_event_store::apply(
    std::vector<protocol::task_event> events, core::wall_time now) {
  std::vector<std::string> args;
  args.reserve(6 + 9 * events.size());
  args.push_back(settings_.prefix);
  args.push_back(std::to_string(epoch_ms(now)));
  args.push_back(std::to_string(std::max<std::size_t>(settings_.history.max_events, 1)));
  args.push_back(std::to_string(std::max<std::int64_t>(settings_.history.max_age.count(), 1)));
  args.push_back(std::to_string(settings_.bus_max_length));
  args.push_back(std::to_string(events.size()));
  for (const auto& e : events) redis_schema::append_event_args(args, e);

  std::vector<std::string> no_keys;
  const auto reply = co_await apply_.run(redis_, std::move(no_keys), std::move(args));
  expect_no_error(reply, "apply script");
  if (reply.type != redis_reply::kind::string) throw core::store_error("redis apply script: no batch record returned");
  co_return std::make_shared<const core::apply_result>(redis_schema::decode_batch(reply.text));
}

asio::awaitable<core::user_stats> redis_event_store::stats(std::string user) {
  std::vector<std::string> command{"HMGET", redis_schema::user_key(settings_.prefix, user), "n", "c", "t", "e"};
  const auto reply = co_await redis_.command(std::move(command));
  expect_no_error(reply, "HMGET statistics");
  if (reply.elements.size() != 4) throw core::store_error("redis HMGET statistics: expected 4 fields");
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
  if (reply.elements.size() < 2 || reply.elements.size() % 2 != 0)
    throw core::store_error("redis history script: malformed reply");
  core::history_page page;
  page.last_event_id = number_in(reply.elements[0], "last event id");
  const auto oldest = number_in(reply.elements[1], "oldest history id");
  page.complete = core::history_covers(after, oldest, page.last_event_id);
  for (std::size_t i = 2; i + 1 < reply.elements.size(); i += 2)
    page.entries.push_back({number_in(reply.elements[i], "history id"), reply.elements[i + 1].text});
  co_return page;
}

}  // namespace dh::store
