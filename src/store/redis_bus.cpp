#include "store/redis_bus.hpp"

#include "store/redis_schema.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <utility>

namespace dh::store {

namespace asio = boost::asio;

namespace {

// A stream entry id <ms>-<seq> as a comparable pair; {0, 0} for anything else.
std::pair<std::uint64_t, std::uint64_t> id_parts(std::string_view id) {
  std::pair<std::uint64_t, std::uint64_t> out{0, 0};
  const auto dash = id.find('-');
  if (dash == std::string_view::npos) return out;
  std::from_chars(id.data(), id.data() + dash, out.first);
  std::from_chars(id.data() + dash + 1, id.data() + id.size(), out.second);
  return out;
}

}  // namespace

redis_bus::redis_bus(redis_client& reader, std::string prefix, std::string instance, redis_epoch_watch& epoch,
                     const core::logger& log)
    : reader_(reader), key_(redis_schema::inbox_key(prefix, instance)), epoch_(epoch), log_(log) {
  // Set before the reader starts, and called on its executor, like the read loop. on_link_ is
  // read only while linked_, which only the read loop sets, after subscribe().
  reader_.on_state([this](bool up) {
    if (!up) unlink();
  });
}

void redis_bus::unlink() {
  if (!linked_.exchange(false, std::memory_order_acq_rel)) return;
  if (on_link_) on_link_(false);
}

void redis_bus::subscribe(subscriber s, link_fn on_link) {
  if (subscriber_) throw std::logic_error("redis_bus has one subscriber");
  subscriber_ = std::move(s);
  on_link_ = std::move(on_link);
}

void redis_bus::start() {
  asio::co_spawn(reader_.executor(), read_loop(), log_if_failed(log_, "redis bus reader"));
}

asio::awaitable<void> redis_bus::read_loop() {
  for (;;) {
    co_await reader_.wait_up();
    if (reader_.stopped()) co_return;
    bool failed = false;
    try {
      co_await read_once();
    } catch (const core::store_unavailable&) {
      // The connection dropped; the client reconnects and the next read resumes after last_id_.
    } catch (const std::exception& e) {
      log_.error("redis bus: {}; retrying in 1 s", e.what());
      unlink();
      failed = true;
    }
    if (failed) {
      asio::steady_timer pause(reader_.executor(), std::chrono::seconds(1));
      (void)co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

asio::awaitable<void> redis_bus::read_once() {
  // The inbox is this process's (its instance id is new): everything in it is for this instance,
  // and nothing reaches it before a lease is taken, which is after the first read starts.
  if (last_id_.empty()) last_id_ = "0-0";
  if (!linked_.load(std::memory_order_relaxed)) {
    co_await check_for_gap();
    linked_.store(true, std::memory_order_release);
    if (on_link_) on_link_(true);  // before what was missed, which the next read brings
  }
  std::vector<std::string> read{"XREAD", "COUNT", "256", "BLOCK", "5000", "STREAMS", key_, last_id_};
  auto reply = co_await reader_.command(std::move(read));
  if (reply.is_error()) throw core::store_error("XREAD " + key_ + " failed: " + reply.text);
  if (reply.is_nil()) co_return;  // BLOCK timed out: nothing new
  for (const auto& stream : reply.elements) {
    if (stream.elements.size() != 2) continue;
    for (const auto& entry : stream.elements[1].elements) deliver(entry);
  }
}

asio::awaitable<void> redis_bus::check_for_gap() {
  // A long outage while other instances kept writing may have trimmed (MAXLEN) entries this
  // instance never read; Redis 7 remembers the newest entry trimmed away.
  std::vector<std::string> info{"XINFO", "STREAM", key_};
  auto reply = co_await reader_.command(std::move(info));
  // A restarted Redis answers LOADING until its data is back: not linked yet, so clients hear
  // "connected" once, when the bus really reads again.
  if (reply.is_error() && reply.text.starts_with("LOADING")) throw core::store_error("redis is still loading its data");
  if (reply.is_error()) co_return;  // no stream yet: nothing was trimmed
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].text != "max-deleted-entry-id") continue;
    const auto& trimmed = reply.elements[i + 1].text;
    if (id_parts(trimmed) > id_parts(last_id_))
      log_.error("redis bus: entries after {} up to {} were trimmed before this instance read them; its clients "
                 "get those updates only by resuming with lastEventId",
                 last_id_, trimmed);
  }
}

void redis_bus::deliver(const redis_reply& entry) {
  if (entry.elements.size() != 2) return;
  last_id_ = entry.elements[0].text;
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].text != "b") continue;
    try {
      subscriber_(std::make_shared<const core::apply_result>(decode_watched(fields[i + 1].text, epoch_)));
    } catch (const core::store_error& e) {
      // Another version's record, or a bug: skipped so the bus does not stall; clients that
      // resume with lastEventId still get these events from history.
      log_.error("redis bus: entry {} skipped: {}", last_id_, e.what());
    }
  }
}

}  // namespace dh::store
