#include "store/redis_schema.hpp"

#include "protocol/strict_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cstdint>

namespace dh::store::redis_schema {

namespace json = boost::json;

namespace {

// The store's epoch, shared by the scripts that give out or read ids. Ids of an epoch are above
// its base, the epoch's start in ms times 1000, so the first id after a loss is above every id
// given before it (unless one user had 1,000 events a millisecond since the last epoch began).
// A new epoch starts when there is none (a new or emptied Redis) or when Redis has counted fewer
// writes than the caller has seen (a snapshot older than the last writes, or a failover that lost
// some): the counter then continues from the caller's figure, so it only grows.
constexpr std::string_view epoch_lua = R"lua(
local function epoch_of(p, floor, known)
  local ekey = p .. 'epoch'
  local e = redis.call('HMGET', ekey, 'b', 'w', 'n')
  local base, writes, number = tonumber(e[1]), tonumber(e[2]) or 0, tonumber(e[3]) or 0
  if base ~= nil and writes >= floor then return base, number, 0 end
  local why = 1
  if base ~= nil then why = 2 end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local fresh = now * 1000
  if base ~= nil and fresh <= base then fresh = base + 1000000 end
  if writes < floor then writes = floor end
  -- Numbers only grow too: an emptied Redis continues from the newest epoch the caller knew.
  if number < known then number = known end
  number = number + 1
  redis.call('HSET', ekey, 'b', string.format('%d', fresh), 'w', string.format('%d', writes), 'n', number, 's', now)
  return fresh, number, why
end
)lua";

// The task rules (core::task_model::plan) as one Redis transaction. core_task_rules_test runs the
// same table of cases against both, so the two definitions cannot drift apart.
constexpr std::string_view apply_lua = R"lua(
local p, now, hist_max, hist_ttl, bus_max = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local floor, known, inbox_ttl, n = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local base = epoch_of(p, floor, known)
local writes = redis.call('HINCRBY', p .. 'epoch', 'w', 1)
-- Each user's statistics and id counter are read once a batch, changed here, and written back
-- once at the end (a script runs alone, so nothing changes them meanwhile).
local users = {}
local function user_state(user)
  local u = users[user]
  if u == nil then
    local s = redis.call('HMGET', p .. 'u:' .. user, 'n', 'c', 'e')
    u = {n = tonumber(s[1]) or 0, c = tonumber(s[2]) or 0, e = tonumber(s[3]) or 0}
    users[user] = u
  end
  return u
end
-- A user's counter from an earlier epoch (or none yet) goes on from this epoch's base.
local function next_id(u)
  u.e = u.e + 1
  if u.e <= base then u.e = base + 1 end
  return u.e
end

local function split(s)
  local out = {}
  for w in string.gmatch(s, '[^,]+') do out[#out + 1] = w end
  return out
end
-- Byte order, as C++ sorts: Lua's < on strings follows the server's locale.
local function bytewise(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function sorted_unique(list)
  table.sort(list, bytewise)
  local out = {}
  for _, v in ipairs(list) do
    if v ~= out[#out] then out[#out + 1] = v end
  end
  return out
end
local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end
-- The owner plus sharedWith; an event without sharedWith keeps who else saw the visible task.
local function audience_of(owner, sets, shared, old_audience, old_owner)
  local list = {}
  if sets == '1' or old_audience == nil then
    list = split(shared)
  else
    for _, u in ipairs(old_audience) do
      if u ~= old_owner then list[#list + 1] = u end
    end
  end
  list[#list + 1] = owner
  return sorted_unique(list)
end

local events, touched, order = {}, {}, {}
local applied, reached_by = {}, {}  -- the applied events' places in `events`, and whom each reached
for k = 0, n - 1 do
  local b = 9 + k * 9
  local action, owner, sets, shared = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local key, id_json, task_json, completed, updated = ARGV[b + 5], ARGV[b + 6], ARGV[b + 7], ARGV[b + 8], ARGV[b + 9]
  local tkey = p .. 't:' .. key
  local old = redis.call('HMGET', tkey, 'o', 'a', 'c', 'd', 'u')
  local exists = old[1] ~= false
  if exists and updated < old[5] then
    -- Last writer wins by updatedAt: an older event changes nothing.
    events[#events + 1] = '{"a":0,"k":' .. cjson.encode(key) .. ',"i":' .. id_json .. '}'
  else
    local visible = exists and old[4] == '0'
    local old_audience = nil
    if visible then old_audience = split(old[2]) end
    local deleted = action == 'deleted'
    local now_completed = (not deleted) and completed == '1'
    local was_completed = visible and old[3] == '1'
    local audience = {}
    if not deleted then audience = audience_of(owner, sets, shared, old_audience, old[1]) end

    -- Everyone who saw it before or sees it now hears about it, each with their own view.
    local reached = {}
    if visible then
      for _, u in ipairs(old_audience) do reached[#reached + 1] = u end
    elseif deleted then
      reached = audience_of(owner, '1', shared, nil, nil)
    end
    for _, u in ipairs(audience) do reached[#reached + 1] = u end
    reached = sorted_unique(reached)

    local before_set, after_set = {}, set_of(audience)
    if visible then before_set = set_of(old_audience) end
    local seen_by = {}
    for _, user in ipairs(reached) do
      local before, after = before_set[user] == true, after_set[user] == true
      local u = user_state(user)
      u.n = u.n + (after and 1 or 0) - (before and 1 or 0)
      u.c = u.c + ((after and now_completed) and 1 or 0) - ((before and was_completed) and 1 or 0)
      local id = next_id(u)
      local seen = 'created'
      if not after then seen = 'deleted' elseif before then seen = 'updated' end
      local hkey = p .. 'h:' .. user
      local payload = '{"taskId":' .. id_json .. ',"action":"' .. seen .. '","task":' .. task_json .. '}'
      -- A script is not rolled back when a command fails, so the one that could (the counter
      -- behind a history that outlived it) is made to succeed: ids continue after the history.
      local added = redis.pcall('XADD', hkey, 'MAXLEN', hist_max, string.format('%d-0', id), 'at', now, 'p', payload)
      if type(added) == 'table' and added.err then
        local top = redis.call('XREVRANGE', hkey, '+', '-', 'COUNT', 1)
        id = tonumber(string.match(top[1][1], '^(%d+)')) + 1
        u.e = id
        redis.call('XADD', hkey, 'MAXLEN', hist_max, string.format('%d-0', id), 'at', now, 'p', payload)
      end
      seen_by[#seen_by + 1] = '[' .. cjson.encode(user) .. ',' .. string.format('%d', id) .. ',"' .. seen .. '"]'
      if not touched[user] then
        touched[user] = true
        order[#order + 1] = user
      end
    end
    redis.call('HSET', tkey, 'o', owner, 'a', table.concat(audience, ','), 'c', now_completed and '1' or '0',
               'd', deleted and '1' or '0', 'u', updated, 'i', id_json, 'j', task_json)
    events[#events + 1] = '{"a":1,"k":' .. cjson.encode(key) .. ',"i":' .. id_json .. ',"t":' ..
                          cjson.encode(task_json) .. ',"u":[' .. table.concat(seen_by, ',') .. ']}'
    applied[#applied + 1] = #events
    reached_by[#events] = reached
  end
end

local stats, stat_of = {}, {}
for _, user in ipairs(order) do
  local u = users[user]
  local n, c, e = string.format('%d', u.n), string.format('%d', u.c), string.format('%d', u.e)
  redis.call('HSET', p .. 'u:' .. user, 'n', n, 'c', c, 't', now, 'e', e)
  redis.call('PEXPIRE', p .. 'h:' .. user, hist_ttl)
  stat_of[user] = '[' .. cjson.encode(user) .. ',' .. n .. ',' .. c .. ',' .. now .. ',' .. e .. ']'
  stats[#stats + 1] = stat_of[user]
end
local tail = '],"w":' .. string.format('%d', writes) .. ',"b":' .. string.format('%d', base) .. '}'
local record = '{"e":[' .. table.concat(events, ',') .. '],"s":[' .. table.concat(stats, ',') .. tail

-- Each instance that holds a live lease of a user an event reached gets, in its inbox, a record
-- of just those events and users, and nothing else: it reads and decodes only what its own
-- sessions need.
local t = redis.call('TIME')
local lease_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local where = {}
local function instances_of(user)
  local list = where[user]
  if list == nil then
    list = {}
    local seen = {}
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', p .. 'conn:' .. user, lease_now, '+inf')) do
      local instance = string.match(member, '^(.*):[^:]*$')
      if instance and not seen[instance] then
        seen[instance] = true
        list[#list + 1] = instance
      end
    end
    where[user] = list
  end
  return list
end
local boxes, box_order = {}, {}
for _, at in ipairs(applied) do
  for _, user in ipairs(reached_by[at]) do
    for _, instance in ipairs(instances_of(user)) do
      local box = boxes[instance]
      if box == nil then
        box = {events = {}, last = 0, has = {}, stats = {}}
        boxes[instance] = box
        box_order[#box_order + 1] = instance
      end
      if box.last ~= at then
        box.last = at
        box.events[#box.events + 1] = events[at]
      end
      if not box.has[user] then
        box.has[user] = true
        box.stats[#box.stats + 1] = stat_of[user]
      end
    end
  end
end
for _, instance in ipairs(box_order) do
  local box = boxes[instance]
  local inbox = p .. 'in:' .. instance
  redis.call('XADD', inbox, 'MAXLEN', '~', bus_max, '*', 'b',
             '{"e":[' .. table.concat(box.events, ',') .. '],"s":[' .. table.concat(box.stats, ',') .. tail)
  redis.call('PEXPIRE', inbox, inbox_ttl)
end
return record
)lua";

// A user's newest id, never below the epoch's base (a user with no event in this epoch yet).
constexpr std::string_view last_id_lua = R"lua(
local function last_id_of(p, user)
  local e = redis.call('HMGET', p .. 'epoch', 'b', 'n')
  local base, number = tonumber(e[1]) or 0, e[2] or '0'
  local last = tonumber(redis.call('HGET', p .. 'u:' .. user, 'e')) or 0
  if last < base then last = base end
  return string.format('%d', last), string.format('%d', base), number
end
)lua";

constexpr std::string_view history_lua = R"lua(
local p, user, from, limit, cutoff = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local hkey = p .. 'h:' .. user
local last, base, number = last_id_of(p, user)
-- Entries past the maximum age go first, a few at a time; each is dropped once.
while true do
  local head = redis.call('XRANGE', hkey, '-', '+', 'COUNT', 32)
  local aged = {}
  for _, e in ipairs(head) do
    if tonumber(e[2][2]) >= cutoff then break end
    aged[#aged + 1] = e[1]
  end
  if #aged == 0 then break end
  redis.call('XDEL', hkey, unpack(aged))
  if #aged < #head then break end
end
local first = redis.call('XRANGE', hkey, '-', '+', 'COUNT', 1)
local oldest = '0'
if #first > 0 then oldest = string.match(first[1][1], '^(%d+)') end
local out = {last, oldest, base, number}
if limit > 0 and from ~= '' then
  for _, e in ipairs(redis.call('XRANGE', hkey, from, '+', 'COUNT', limit)) do
    out[#out + 1] = string.match(e[1], '^(%d+)')
    out[#out + 1] = e[2][4]
  end
end
return out
)lua";

constexpr std::string_view stats_lua = R"lua(
local p, user = ARGV[1], ARGV[2]
local s = redis.call('HMGET', p .. 'u:' .. user, 'n', 'c', 't')
local last = last_id_of(p, user)
return {s[1] or '0', s[2] or '0', s[3] or '0', last}
)lua";

constexpr std::string_view epoch_check_lua = R"lua(
local p, floor, known = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local base, number, why = epoch_of(p, floor, known)
local e = redis.call('HMGET', p .. 'epoch', 'w', 's')
return {string.format('%d', base), tostring(number), tostring(why), e[1] or '0', e[2] or '0'}
)lua";

std::string joined(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) out += part;
  return out;
}

}  // namespace

const std::string apply_script = joined({epoch_lua, apply_lua});
const std::string history_script = joined({last_id_lua, history_lua});
const std::string stats_script = joined({last_id_lua, stats_lua});
const std::string epoch_script = joined({epoch_lua, epoch_check_lua});

const std::string_view lease_acquire_script = R"lua(
local key, member, limit, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, member) == false and redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now + ttl, member)
redis.call('PEXPIRE', key, ttl)
return 1
)lua";

const std::string_view lease_renew_script = R"lua(
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local missing = {}
for i = 2, #ARGV, 2 do
  local key, member = ARGV[i], ARGV[i + 1]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  -- Only leases still held are extended: a missing one was released meanwhile or lapsed, and
  -- the caller decides whether to take it again.
  if redis.call('ZSCORE', key, member) ~= false then
    redis.call('ZADD', key, 'XX', now + ttl, member)
    redis.call('PEXPIRE', key, ttl)
  else
    missing[#missing + 1] = (i - 2) / 2
  end
end
return missing
)lua";

std::string inbox_key(std::string_view prefix, std::string_view instance) {
  return fmt::format("{}in:{}", prefix, instance);
}
std::string lease_key(std::string_view prefix, std::string_view user) { return fmt::format("{}conn:{}", prefix, user); }

std::string sortable_time(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  // Offset so that times before 1970 sort too; 20 digits hold every uint64.
  const auto biased = static_cast<std::uint64_t>(ns) ^ (std::uint64_t{1} << 63);
  return fmt::format("{:020}", biased);
}

void append_event_args(std::vector<std::string>& args, const protocol::task_event& e) {
  std::string shared;
  for (const auto& u : e.shared_with) {
    if (!shared.empty()) shared += ',';
    shared += u;
  }
  args.emplace_back(protocol::to_string(e.action));
  args.push_back(e.owner);
  args.emplace_back(e.sets_audience ? "1" : "0");
  args.push_back(std::move(shared));
  args.push_back(e.task_key);
  args.push_back(json::serialize(e.task_id));
  args.push_back(json::serialize(e.task));
  args.emplace_back(e.completed ? "1" : "0");
  args.push_back(sortable_time(e.updated_at));
}

namespace {

protocol::task_action action_named(std::string_view name) {
  if (name == "created") return protocol::task_action::created;
  if (name == "deleted") return protocol::task_action::deleted;
  if (name == "updated") return protocol::task_action::updated;
  throw core::store_error(fmt::format("redis batch record: unknown action '{}'", name));
}

std::uint64_t to_u64(const json::value& v) {
  if (auto* i = v.if_int64(); i && *i >= 0) return static_cast<std::uint64_t>(*i);
  if (auto* u = v.if_uint64()) return *u;
  if (auto* d = v.if_double(); d && *d >= 0) return static_cast<std::uint64_t>(*d);  // cjson writes %.14g
  throw core::store_error("redis batch record: expected a non-negative number");
}

std::int64_t to_i64(const json::value& v) {
  if (auto* i = v.if_int64()) return *i;
  if (auto* u = v.if_uint64()) return static_cast<std::int64_t>(*u);
  if (auto* d = v.if_double()) return static_cast<std::int64_t>(*d);
  throw core::store_error("redis batch record: expected a number");
}

core::applied_event decode_event(const json::object& e) {
  core::applied_event out;
  out.applied = to_i64(e.at("a")) == 1;
  out.task_key = std::string(e.at("k").as_string());
  out.task_id = e.at("i");
  out.task_id_json = json::serialize(out.task_id);
  if (!out.applied) return out;
  out.task_json = std::make_shared<const std::string>(std::string(e.at("t").as_string()));
  for (const auto& seen : e.at("u").as_array()) {
    const auto& row = seen.as_array();
    out.audience.push_back({std::string(row.at(0).as_string()), to_u64(row.at(1)),
                            action_named(row.at(2).as_string())});
  }
  return out;
}

}  // namespace

core::apply_result decode_batch(std::string_view record, batch_epoch* epoch) {
  auto parsed = protocol::parse_strict_json(record);
  if (!parsed || !parsed->is_object())
    throw core::store_error(fmt::format("redis batch record is not a JSON object: {:.80}", record));
  try {
    const auto& root = parsed->as_object();
    core::apply_result out;
    for (const auto& e : root.at("e").as_array()) out.events.push_back(decode_event(e.as_object()));
    for (const auto& s : root.at("s").as_array()) {
      const auto& row = s.as_array();
      core::user_stats stats;
      stats.total = to_i64(row.at(1));
      stats.completed = to_i64(row.at(2));
      stats.updated_at = core::wall_time(std::chrono::milliseconds(to_i64(row.at(3))));
      stats.last_event_id = to_u64(row.at(4));
      out.stats.emplace_back(std::string(row.at(0).as_string()), stats);
    }
    if (epoch != nullptr) {
      // Records of a version before epochs have neither: 0 leaves what the caller knows alone.
      const auto* writes = root.if_contains("w");
      const auto* base = root.if_contains("b");
      epoch->writes = writes ? to_u64(*writes) : 0;
      epoch->base = base ? to_u64(*base) : 0;
    }
    return out;
  } catch (const core::store_error&) {
    throw;
  } catch (const std::exception& e) {
    throw core::store_error(fmt::format("redis batch record is malformed ({}): {:.80}", e.what(), record));
  }
}

}  // namespace dh::store::redis_schema
