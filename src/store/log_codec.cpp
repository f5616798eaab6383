#include "store/log_codec.hpp"

#include "core/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cstring>

namespace dh::store {

namespace json = boost::json;

namespace {

// Fixed-width little-endian integers and length-prefixed strings: a record's layout does not
// depend on the host or on a JSON writer's choices for the fields that decide the rules.
void put_u64(std::string& out, std::uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(bytes, 8);
}
void put_text(std::string& out, std::string_view text) {
  put_u64(out, text.size());
  out.append(text);
}

class reader {
 public:
  explicit reader(std::string_view body) : rest_(body) {}
  std::uint64_t u64() {
    need(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(rest_[i])} << (8 * i);
    rest_.remove_prefix(8);
    return v;
  }
  std::string_view text() {
    const auto size = u64();
    need(size);
    const auto out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return out;
  }
  bool done() const noexcept { return rest_.empty(); }

 private:
  void need(std::uint64_t n) const {
    if (rest_.size() < n) throw core::store_error("event log: a record ends inside a field");
  }
  std::string_view rest_;
};

std::int64_t ticks(core::wall_time t) { return t.time_since_epoch().count(); }
core::wall_time from_ticks(std::uint64_t v) {
  return core::wall_time{core::wall_time::duration{static_cast<std::int64_t>(v)}};
}

constexpr std::uint64_t completed_flag = 1, sets_audience_flag = 2;

}  // namespace

void encode_group(std::uint64_t seq, core::wall_time now, const std::vector<protocol::task_event>& events,
                  std::string& out) {
  put_u64(out, seq);
  put_u64(out, static_cast<std::uint64_t>(ticks(now)));
  put_u64(out, events.size());
  for (const auto& e : events) {
    put_u64(out, static_cast<std::uint64_t>(e.action));
    put_u64(out, (e.completed ? completed_flag : 0) | (e.sets_audience ? sets_audience_flag : 0));
    put_u64(out, static_cast<std::uint64_t>(ticks(e.updated_at)));
    put_text(out, e.owner);
    put_text(out, e.task_key);
    put_text(out, protocol::task_id_json_of(e));
    put_text(out, protocol::task_json_of(e));
    put_u64(out, e.shared_with.size());
    for (const auto& user : e.shared_with) put_text(out, user);
  }
}

log_group decode_group(std::string_view body) {
  reader in(body);
  log_group group;
  group.seq = in.u64();
  group.now = from_ticks(in.u64());
  const auto count = in.u64();
  if (count > body.size()) throw core::store_error("event log: impossible event count");
  group.events.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    protocol::task_event e;
    const auto action = in.u64();
    if (action > static_cast<std::uint64_t>(protocol::task_action::deleted))
      throw core::store_error(fmt::format("event log: unknown action {}", action));
    e.action = static_cast<protocol::task_action>(action);
    const auto flags = in.u64();
    e.completed = (flags & completed_flag) != 0;
    e.sets_audience = (flags & sets_audience_flag) != 0;
    e.updated_at = from_ticks(in.u64());
    e.owner = in.text();
    e.task_key = in.text();
    boost::system::error_code id_error, task_error;
    e.task_id_text = in.text();
    e.task_text = in.text();
    e.task_id = json::parse(e.task_id_text, id_error);
    auto task = json::parse(e.task_text, task_error);
    if (id_error || task_error || !task.is_object())
      throw core::store_error("event log: a task id or task is not the JSON it was written as");
    e.task = std::move(task.as_object());
    const auto shared = in.u64();
    if (shared > body.size()) throw core::store_error("event log: impossible audience size");
    for (std::uint64_t s = 0; s < shared; ++s) e.shared_with.emplace_back(in.text());
    group.events.push_back(std::move(e));
  }
  if (!in.done()) throw core::store_error("event log: bytes after the last event");
  return group;
}

}  // namespace dh::store
