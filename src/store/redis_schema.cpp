#include "store/redis_schema.hpp"

#include "protocol/strict_json.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace dh::store::redis_schema {

namespace json = boost::json;

namespace {
// Redis's clock in ms, for every script that needs the time: leases, routes and epochs are all
// judged by the one clock, so the instances' clocks do not matter.
constexpr std::string_view clock_lua = R"lua(
local function redis_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
)lua";

// The store's epoch, shared by the scripts that give out or read ids. Ids of an epoch are above
// its base, the epoch's start in ms times 1000, so the first id after a loss is above every id
// given before it (unless one user had 1,000 events a millisecond since the last epoch began).
// A new epoch starts when there is none (a new or emptied Redis) or when Redis has counted fewer
// writes than the caller has seen (a snapshot older than the last writes, or a failover that lost
// some): the counter then continues from the caller's figure, so it only grows.
// Its field l says whether keys in the layout of an earlier version (hashes t: and u:) may exist:
// set when the epoch was written by such a version or when none exists but that version's bus
// does. Only then does apply look for them.
constexpr std::string_view epoch_lua = R"lua(
local function epoch_of(p, floor, known)
  local ekey = p .. 'epoch'
  local e = redis.call('HMGET', ekey, 'b', 'w', 'n', 'l')
  local base, writes, number, legacy = tonumber(e[1]), tonumber(e[2]) or 0, tonumber(e[3]) or 0, e[4]
  if legacy == false then
    if base ~= nil or redis.call('EXISTS', p .. 'bus') == 1 then legacy = '1' else legacy = '0' end
    redis.call('HSET', ekey, 'l', legacy)
  end
  if base ~= nil and writes >= floor then return base, number, 0, legacy == '1' end
  local why = 1
  if base ~= nil then why = 2 end
  local now = redis_now()
  local fresh = now * 1000
  if base ~= nil and fresh <= base then fresh = base + 1000000 end
  if writes < floor then writes = floor end
  -- Numbers only grow too: an emptied Redis continues from the newest epoch the caller knew.
  if number < known then number = known end
  number = number + 1
  redis.call('HSET', ekey, 'b', string.format('%d', fresh), 'w', string.format('%d', writes), 'n', number, 's', now)
  return fresh, number, why, legacy == '1'
end
)lua";

// Reading a route, r:<user> (kept by route_lua below), for the apply script (which instances get a
// batch) and the lease scripts (whether a renewal must rebuild it).
constexpr std::string_view route_read_lua = R"lua(
-- The instances that "<instance> <until ms> ..." lists until `needed` or later: the times have 13
-- digits, so they compare as text.
local function routed_instances(route, needed)
  local find, sub, out, at = string.find, string.sub, {}, 1
  while true do
    local gap = find(route, ' ', at, true)
    if gap == nil then return out end
    local stop = find(route, ' ', gap + 1, true) or #route + 1
    if sub(route, gap + 1, stop - 1) >= needed then out[#out + 1] = sub(route, at, gap - 1) end
    at = stop + 1
  end
end
)lua";

// The task rules (core::task_model::plan) as one Redis transaction. core_task_rules_test runs the
// same table of cases against both, so the two definitions cannot drift apart.
// Written for Redis's cost model: a redis.call costs far more than the lookup it makes, and every
// string Lua builds is hashed and interned. So keys are read and written in runs (MGET, MSET), a
// batch takes the task rules in one pass and the counters in a second, and the texts it returns
// are lists of parts joined once, never grown by concatenation.
constexpr std::string_view apply_lua = R"lua(
-- Locals, not globals: in Lua 5.1 every use of a global is a table lookup (two for string.sub),
-- and the per-event loops below are numeric for the same reason (ipairs is a C call per step).
local ARGV, call, format, sub, find, concat = ARGV, redis.call, string.format, string.sub, string.find, table.concat
local p, now, hist_max, hist_ttl, bus_max = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local floor, known, inbox_ttl, n = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local base, _, _, legacy = epoch_of(p, floor, known)
local writes = call('HINCRBY', p .. 'epoch', 'w', 1)

local chunk = 500  -- keys per MGET or MSET: unpack's limit is in the thousands
local function read_all(names)
  if #names <= chunk then
    if #names == 0 then return {} end
    return call('MGET', unpack(names))
  end
  local out = {}
  for i = 1, #names, chunk do
    local part = call('MGET', unpack(names, i, math.min(#names, i + chunk - 1)))
    for j = 1, #part do out[i + j - 1] = part[j] end
  end
  return out
end
local function write_all(list)
  for i = 1, #list, 2 * chunk do
    call('MSET', unpack(list, i, math.min(#list, i + 2 * chunk - 1)))
  end
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
  if #list < 2 then return list end
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
    if shared == '' then return {owner} end
    list = split(shared)
  else
    for _, u in ipairs(old_audience) do
      if u ~= old_owner then list[#list + 1] = u end
    end
  end
  list[#list + 1] = owner
  return sorted_unique(list)
end

-- Each task's state, one string: "<updatedAt> <completed><deleted> <owner> <audience>".
-- task_names and user_names (below) are the keys, read and later written.
local tasks, task_keys, task_names = {}, {}, {}
do
  local seen = {}
  for k = 0, n - 1 do
    local key = ARGV[9 + k * 9 + 5]
    if not seen[key] then
      seen[key] = true
      task_keys[#task_keys + 1] = key
      task_names[#task_names + 1] = p .. 'ts:' .. key
    end
  end
  local found = read_all(task_names)
  for i = 1, #task_keys do
    local key = task_keys[i]
    if found[i] then
      -- Fixed places (updatedAt has 20 digits, completed and deleted one each): Lua's patterns
      -- backtrack character by character, which costs more than the rest of the event.
      local s = found[i]
      local space = find(s, ' ', 25, true)
      tasks[key] = {u = sub(s, 1, 20), c = sub(s, 22, 22), d = sub(s, 23, 23),
                    o = sub(s, 25, space - 1), a = sub(s, space + 1)}
    elseif legacy then
      -- Kept by an earlier version: read once, rewritten below in this layout.
      local old = call('HMGET', p .. 't:' .. key, 'o', 'a', 'c', 'd', 'u')
      if old[1] then tasks[key] = {o = old[1], a = old[2], c = old[3], d = old[4], u = old[5], legacy = true} end
    end
  end
end

-- First pass: the task rules, which need only the tasks' states. Who each event reaches, and
-- whether each of them saw the task before and sees it after.
local plans, users, user_order, nobody = {}, {}, {}, {}
for k = 0, n - 1 do
  local b = 9 + k * 9
  local action, owner, sets, shared = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local key, id_json, task_json, completed, updated = ARGV[b + 5], ARGV[b + 6], ARGV[b + 7], ARGV[b + 8], ARGV[b + 9]
  local old = tasks[key]
  if old and updated < old.u then
    -- Last writer wins by updatedAt: an older event changes nothing.
    plans[k + 1] = {id_json = id_json}
  else
    local visible = old ~= nil and old.d == '0'
    local deleted = action == 'deleted'
    local now_completed = (not deleted) and completed == '1'
    local was_completed = visible and old.c == '1'
    local audience, reached, before_set, after_set
    if not visible and not deleted and shared == '' then
      -- The common case, a new task of one user: no sorting, and no sets (a plan without an after
      -- set reaches only its owner, who sees the task after).
      audience, before_set = {owner}, nobody
      reached = audience
    else
      local old_audience = nil
      if visible then old_audience = split(old.a) end
      audience = {}
      if not deleted then audience = audience_of(owner, sets, shared, old_audience, old and old.o) end
      -- Everyone who saw it before or sees it now hears about it, each with their own view.
      reached = {}
      if visible then
        for _, u in ipairs(old_audience) do reached[#reached + 1] = u end
      elseif deleted then
        reached = audience_of(owner, '1', shared, nil, nil)
      end
      for _, u in ipairs(audience) do reached[#reached + 1] = u end
      reached = sorted_unique(reached)
      before_set, after_set = nobody, set_of(audience)
      if visible then before_set = set_of(old_audience) end
    end
    for i = 1, #reached do
      local user = reached[i]
      if not users[user] then
        users[user] = true
        user_order[#user_order + 1] = user
      end
    end
    local audience_text = audience[1]
    if #audience ~= 1 then audience_text = concat(audience, ',') end
    tasks[key] = {o = owner, a = audience_text, u = updated, c = now_completed and '1' or '0',
                  d = deleted and '1' or '0', dirty = true, legacy = old ~= nil and old.legacy}
    plans[k + 1] = {id_json = id_json, task_json = task_json, reached = reached, before = before_set,
                    after = after_set, now_completed = now_completed, was_completed = was_completed}
  end
end

-- Each reached user's statistics and id counter, five little-endian doubles (exact below 2^53;
-- struct.unpack is one call where text would need a pattern and five tonumber): total, completed,
-- last id, statistics ms, the ms the history's TTL was last set. And, from r:<user> (kept by the
-- lease scripts), the instances holding a lease for them.
local lease_now = format('%d', redis_now())
local user_names = {}
do
  local routes = {}
  for i = 1, #user_order do
    local user = user_order[i]
    user_names[i] = p .. 'us:' .. user
    routes[i] = p .. 'r:' .. user
  end
  local found, where = read_all(user_names), read_all(routes)
  for i = 1, #user_order do
    local user, instances = user_order[i], nobody
    if where[i] then instances = routed_instances(where[i], lease_now) end
    -- ids: the last id as text, once the second pass has given one.
    if found[i] then
      local un, uc, ue, _, ux = struct.unpack('<ddddd', found[i])
      users[user] = {n = un, c = uc, e = ue, x = ux, instances = instances, ids = false}
    elseif legacy then
      local old = call('HMGET', p .. 'u:' .. user, 'n', 'c', 'e')
      users[user] = {n = tonumber(old[1]) or 0, c = tonumber(old[2]) or 0, e = tonumber(old[3]) or 0, x = 0,
                     instances = instances, ids = false, legacy = old[1] ~= false}
    else
      users[user] = {n = 0, c = 0, e = 0, x = 0, instances = instances, ids = false}
    end
  end
end

-- A user's counter from an earlier epoch (or none yet) goes on from this epoch's base.
local function next_id(u)
  u.e = u.e + 1
  if u.e <= base then u.e = base + 1 end
  return u.e
end

-- Second pass: ids, history, and each event's part of the batch record (see decode_batch).
local parts_of = {}
for at = 1, #plans do
  local plan = plans[at]
  if plan.reached == nil then
    parts_of[at] = {'i ', plan.id_json, '\n'}
  else
    local parts, reached = {'a ', plan.id_json, '\nt ', plan.task_json, '\n'}, plan.reached
    for i = 1, #reached do
      local user = reached[i]
      local u, before = users[user], plan.before[user] == true
      local after = plan.after == nil or plan.after[user] == true
      if after then
        u.n = u.n + 1
        if plan.now_completed then u.c = u.c + 1 end
      end
      if before then
        u.n = u.n - 1
        if plan.was_completed then u.c = u.c - 1 end
      end
      local seen = 'created'
      if not after then seen = 'deleted' elseif before then seen = 'updated' end
      local ids = format('%d', next_id(u))
      local hkey = p .. 'h:' .. user
      -- A script is not rolled back when a command fails, so the one that could (the counter
      -- behind a history that outlived it) is made to succeed: ids continue after the history.
      local added = redis.pcall('XADD', hkey, 'MAXLEN', hist_max, ids .. '-0', 'at', now, 'i', plan.id_json,
                                'a', seen, 't', plan.task_json)
      if type(added) == 'table' and added.err then
        local top = call('XREVRANGE', hkey, '+', '-', 'COUNT', 1)
        u.e = tonumber(string.match(top[1][1], '^(%d+)')) + 1
        ids = format('%d', u.e)
        call('XADD', hkey, 'MAXLEN', hist_max, ids .. '-0', 'at', now, 'i', plan.id_json, 'a', seen, 't',
                   plan.task_json)
      end
      u.ids = ids
      parts[#parts + 1] = 'u ' .. user .. ' ' .. ids .. ' ' .. seen .. '\n'
    end
    parts_of[at] = parts
  end
end

-- Write back the tasks and users this batch changed, and (now and then, not every batch) the TTL
-- of each reached user's history, which so outlives its last event by at least hist_ttl.
local now_ms, ttl_step = tonumber(now), math.floor(tonumber(hist_ttl) / 16)
local ttl_keep = format('%d', tonumber(hist_ttl) + ttl_step)
local task_writes, user_writes, legacy_keys, stat_of = {}, {}, {}, {}
for i = 1, #task_keys do
  local key = task_keys[i]
  local s = tasks[key]
  if s and s.dirty then
    task_writes[#task_writes + 1] = task_names[i]
    task_writes[#task_writes + 1] = s.u .. ' ' .. s.c .. s.d .. ' ' .. s.o .. ' ' .. s.a
    if s.legacy then legacy_keys[#legacy_keys + 1] = p .. 't:' .. key end
  end
end
for i = 1, #user_order do
  local user = user_order[i]
  local u = users[user]
  local un, uc, ue = format('%d', u.n), format('%d', u.c), u.ids or format('%d', u.e)
  if now_ms - u.x >= ttl_step then
    call('PEXPIRE', p .. 'h:' .. user, ttl_keep)
    u.x = now_ms
  end
  user_writes[#user_writes + 1] = user_names[i]
  user_writes[#user_writes + 1] = struct.pack('<ddddd', u.n, u.c, u.e, now_ms, u.x)
  if u.legacy then legacy_keys[#legacy_keys + 1] = p .. 'u:' .. user end
  stat_of[user] = 's ' .. user .. ' ' .. un .. ' ' .. uc .. ' ' .. now .. ' ' .. ue .. '\n'
end
if #task_writes > 0 then write_all(task_writes) end
if #user_writes > 0 then write_all(user_writes) end
for i = 1, #legacy_keys, chunk do
  call('DEL', unpack(legacy_keys, i, math.min(#legacy_keys, i + chunk - 1)))
end

local head = 'w ' .. format('%d', writes) .. ' ' .. format('%d', base) .. '\n'
local function record_of(events, stats)
  local out, size = {head}, 1
  for i = 1, #events do
    local parts = parts_of[events[i]]
    for j = 1, #parts do out[size + j] = parts[j] end
    size = size + #parts
  end
  for i = 1, #stats do out[size + i] = stats[i] end
  return concat(out)
end

-- Each instance that holds a live lease of a user an event reached gets, in its inbox, a record
-- of just those events and users, and nothing else: it reads and decodes only what its own
-- sessions need.
local boxes, box_order = {}, {}
for at = 1, #plans do
  local reached = plans[at].reached or nobody
  for i = 1, #reached do
    local user = reached[i]
    local instances = users[user].instances
    for j = 1, #instances do
      local instance = instances[j]
      local box = boxes[instance]
      if box == nil then
        box = {events = {}, has = {}, stats = {}}
        boxes[instance] = box
        box_order[#box_order + 1] = instance
      end
      if box.events[#box.events] ~= at then box.events[#box.events + 1] = at end
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
  call('XADD', inbox, 'MAXLEN', '~', bus_max, '*', 'b', record_of(box.events, box.stats))
  call('PEXPIRE', inbox, inbox_ttl)
end

-- The caller needs only the ids, for its 202 (the instances got the rest): its receipt is the
-- record without the tasks and the statistics.
local receipt, size = {head}, 1
for at = 1, #parts_of do
  local parts = parts_of[at]
  if plans[at].reached == nil then
    for i = 1, #parts do receipt[size + i] = parts[i] end
    size = size + #parts
  else
    receipt[size + 1], receipt[size + 2], receipt[size + 3] = 'a ', parts[2], '\n'
    size = size + 3
    for i = 6, #parts do receipt[size + i - 5] = parts[i] end
    size = size + #parts - 5
  end
end
return concat(receipt)
)lua";

// A user's statistics (see apply), or the hash an earlier version kept, as numbers: total,
// completed, statistics ms, last id (0 when the user has none).
constexpr std::string_view user_state_lua = R"lua(
local function user_state_of(p, user)
  local s = redis.call('GET', p .. 'us:' .. user)
  if s then
    local n, c, e, t = struct.unpack('<ddddd', s)
    return n, c, t, e
  end
  local old = redis.call('HMGET', p .. 'u:' .. user, 'n', 'c', 't', 'e')
  return tonumber(old[1]) or 0, tonumber(old[2]) or 0, tonumber(old[3]) or 0, tonumber(old[4]) or 0
end
)lua";

// A user's newest id (`last`, from user_state_of) as text, never below the epoch's base (a user
// with no event in this epoch yet), with the base and the epoch's number.
constexpr std::string_view last_id_lua = R"lua(
local function last_id_of(p, last)
  local e = redis.call('HMGET', p .. 'epoch', 'b', 'n')
  local base, number = tonumber(e[1]) or 0, e[2] or '0'
  if last < base then last = base end
  return string.format('%d', last), string.format('%d', base), number
end
)lua";

// History entries have fields at (ms), then i (task id JSON), a (action), t (task JSON); an
// earlier version kept the whole payload in p. The payload is built here, on the rare read,
// rather than on every write.
constexpr std::string_view history_lua = R"lua(
local p, user, from, limit, cutoff = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local hkey = p .. 'h:' .. user
local _, _, _, last_id = user_state_of(p, user)
local last, base, number = last_id_of(p, last_id)
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
    local f = e[2]
    out[#out + 1] = string.match(e[1], '^(%d+)')
    if f[3] == 'p' then
      out[#out + 1] = f[4]
    else
      out[#out + 1] = '{"taskId":' .. f[4] .. ',"action":"' .. f[6] .. '","task":' .. f[8] .. '}'
    end
  end
end
return out
)lua";

constexpr std::string_view stats_lua = R"lua(
local p, user = ARGV[1], ARGV[2]
local n, c, t, e = user_state_of(p, user)
return {string.format('%d', n), string.format('%d', c), string.format('%d', t), (last_id_of(p, e))}
)lua";

constexpr std::string_view epoch_check_lua = R"lua(
local p, floor, known = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local base, number, why = epoch_of(p, floor, known)
local e = redis.call('HMGET', p .. 'epoch', 'w', 's')
return {string.format('%d', base), tostring(number), tostring(why), e[1] or '0', e[2] or '0'}
)lua";

// A user's route, r:<user>: each instance with a live lease of theirs and until when, rebuilt
// from the leases whenever one is taken or given back, and gone with the last of them. The apply
// script reads it with the user's counters instead of querying the leases per user.
// An instance stays listed for one lease TTL (the slack) past its last lease's expiry, so a
// renewal, which comes every third of a TTL, finds the route still good and rebuilds it only
// about one time in four. Listed a little longer than it holds a lease, an instance only
// receives batches it has no session for, and drops them.
constexpr std::string_view route_lua = R"lua(
local function reroute(lkey, rkey, now, slack)
  local leases = redis.call('ZRANGEBYSCORE', lkey, now, '+inf', 'WITHSCORES')
  local until_of, order, last = {}, {}, 0
  for i = 1, #leases, 2 do
    local instance, t = string.match(leases[i], '^(.*):[^:]*$'), tonumber(leases[i + 1])
    if instance then
      if until_of[instance] == nil then order[#order + 1] = instance end
      if until_of[instance] == nil or t > until_of[instance] then until_of[instance] = t end
      if t > last then last = t end
    end
  end
  if #order == 0 then
    redis.call('DEL', rkey)
    return
  end
  local parts = {}
  for _, instance in ipairs(order) do
    parts[#parts + 1] = instance .. ' ' .. string.format('%d', until_of[instance] + slack)
  end
  redis.call('SET', rkey, table.concat(parts, ' '), 'PX', string.format('%d', last + slack - now + 1))
end
-- Whether the route lists `instance` until `needed` or later.
local function routed_until(rkey, instance, needed)
  local route = redis.call('GET', rkey)
  if not route then return false end
  for _, listed in ipairs(routed_instances(route, needed)) do
    if listed == instance then return true end
  end
  return false
end
)lua";

constexpr std::string_view lease_acquire_lua = R"lua(
local key, route, member, limit, ttl = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = redis_now()
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, member) == false and redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now + ttl, member)
redis.call('PEXPIRE', key, ttl)
reroute(key, route, now, ttl)
return 1
)lua";

constexpr std::string_view lease_renew_lua = R"lua(
-- ARGV: the TTL, the renewing instance, then per lease its key, its user's route and its member.
local ttl, instance = tonumber(ARGV[1]), ARGV[2]
local now = redis_now()
local missing = {}
for i = 3, #ARGV, 3 do
  local key, member = ARGV[i], ARGV[i + 2]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  -- Only leases still held are extended: a missing one was released meanwhile or lapsed, and
  -- the caller decides whether to take it again.
  if redis.call('ZSCORE', key, member) ~= false then
    redis.call('ZADD', key, 'XX', now + ttl, member)
    redis.call('PEXPIRE', key, ttl)
  else
    missing[#missing + 1] = (i - 3) / 3
  end
end
-- Each user's route must now list this instance until the renewed expiry: checked once per user
-- (a user with several tabs here too), rebuilt only when its slack is used up.
local needed, checked = string.format('%d', now + ttl), {}
for i = 3, #ARGV, 3 do
  local key, route = ARGV[i], ARGV[i + 1]
  if not checked[key] then
    checked[key] = true
    if not routed_until(route, instance, needed) then reroute(key, route, now, ttl) end
  end
end
return missing
)lua";

constexpr std::string_view lease_release_lua = R"lua(
local key, route, member, ttl = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
redis.call('ZREM', key, member)
reroute(key, route, redis_now(), ttl)
return 1
)lua";

std::string joined(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts) out += part;
  return out;
}

}  // namespace

const std::string apply_script = joined({clock_lua, epoch_lua, route_read_lua, apply_lua});
const std::string history_script = joined({user_state_lua, last_id_lua, history_lua});
const std::string stats_script = joined({user_state_lua, last_id_lua, stats_lua});
const std::string epoch_script = joined({clock_lua, epoch_lua, epoch_check_lua});
const std::string lease_acquire_script = joined({clock_lua, route_read_lua, route_lua, lease_acquire_lua});
const std::string lease_renew_script = joined({clock_lua, route_read_lua, route_lua, lease_renew_lua});
const std::string lease_release_script = joined({clock_lua, route_read_lua, route_lua, lease_release_lua});

std::string inbox_key(std::string_view prefix, std::string_view instance) {
  return fmt::format("{}in:{}", prefix, instance);
}
std::string lease_key(std::string_view prefix, std::string_view user) { return fmt::format("{}conn:{}", prefix, user); }
std::string route_key(std::string_view prefix, std::string_view user) { return fmt::format("{}r:{}", prefix, user); }

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

[[noreturn]] void malformed(std::string_view why, std::string_view line) {
  throw core::store_error(fmt::format("redis batch record is malformed ({}): {:.80}", why, line));
}

protocol::task_action action_named(std::string_view name, std::string_view line) {
  if (name == "created") return protocol::task_action::created;
  if (name == "deleted") return protocol::task_action::deleted;
  if (name == "updated") return protocol::task_action::updated;
  malformed("unknown action", line);
}

// The next space-separated word of `rest`, taken off it.
std::string_view next_word(std::string_view& rest) {
  const auto end = std::min(rest.find(' '), rest.size());
  const auto word = rest.substr(0, end);
  rest.remove_prefix(std::min(end + 1, rest.size()));
  return word;
}

template <typename Number>
Number number_in(std::string_view word, std::string_view line) {
  Number n{};
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
  if (word.empty() || ec != std::errc{} || end != word.data() + word.size()) malformed("expected a number", line);
  return n;
}

// "a <id json>" or "i <id json>": the task key is the id's text, as ingest makes it.
core::applied_event event_of(std::string_view id_json, bool applied, std::string_view line) {
  auto id = protocol::parse_strict_json(id_json);
  if (!id) malformed("task id is not JSON", line);
  core::applied_event e;
  e.applied = applied;
  if (const auto* s = id->if_string()) {
    e.task_key = std::string(*s);
  } else if (const auto* i = id->if_int64(); i != nullptr && *i >= 0) {
    e.task_key = std::to_string(*i);
  } else if (const auto* u = id->if_uint64()) {
    e.task_key = std::to_string(*u);
  } else {
    malformed("task id is neither a string nor a non-negative integer", line);
  }
  e.task_id = std::move(*id);
  e.task_id_json = std::string(id_json);
  return e;
}

}  // namespace

core::apply_result decode_batch(std::string_view record, batch_epoch* epoch, record_kind kind) {
  core::apply_result out;
  bool headed = false;
  while (!record.empty()) {
    const auto end = record.find('\n');
    if (end == std::string_view::npos) malformed("a line without its end", record);
    const auto line = record.substr(0, end);
    record.remove_prefix(end + 1);
    if (line.size() < 2 || line[1] != ' ') malformed("expected '<kind> <fields>'", line);
    auto rest = line.substr(2);
    const char kind = line[0];
    if (!headed) {
      if (kind != 'w') malformed("expected the 'w' line first", line);
      const auto writes = number_in<std::uint64_t>(next_word(rest), line);
      const auto base = number_in<std::uint64_t>(next_word(rest), line);
      if (epoch != nullptr) *epoch = {writes, base};
      headed = true;
      continue;
    }
    core::applied_event* last = out.events.empty() ? nullptr : &out.events.back();
    switch (kind) {
      case 'a':
      case 'i':
        out.events.push_back(event_of(rest, kind == 'a', line));
        break;
      case 't':
        if (last == nullptr || !last->applied || last->task_json) malformed("a task without its event", line);
        last->task_json = std::make_shared<const std::string>(rest);
        break;
      case 'u': {
        if (last == nullptr || !last->applied) malformed("a user's view without its event", line);
        const auto user = next_word(rest);
        const auto id = number_in<std::uint64_t>(next_word(rest), line);
        last->audience.push_back({std::string(user), id, action_named(rest, line)});
        break;
      }
      case 's': {
        const auto user = next_word(rest);
        core::user_stats stats;
        stats.total = number_in<std::int64_t>(next_word(rest), line);
        stats.completed = number_in<std::int64_t>(next_word(rest), line);
        stats.updated_at = core::wall_time(std::chrono::milliseconds(number_in<std::int64_t>(next_word(rest), line)));
        stats.last_event_id = number_in<std::uint64_t>(rest, line);
        out.stats.emplace_back(std::string(user), stats);
        break;
      }
      default:
        malformed("unknown line", line);
    }
  }
  if (!headed) malformed("empty", record);
  if (kind == record_kind::batch)
    for (const auto& e : out.events)
      if (e.applied && !e.task_json) malformed("an applied event without its task", e.task_id_json);
  return out;
}

}  // namespace dh::store::redis_schema
