// redis_schema.hpp — what dashboard-hub keeps in Redis and how: the key layout, the Lua scripts
// that change it atomically, and the batch record the apply script returns and appends to inboxes.
#pragma once

#include "core/store.hpp"
#include "protocol/task_event.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dh::store::redis_schema {

// Keys, all under one prefix (default "dh:") so several deployments can share a Redis:
//   <p>ts:<taskKey> string "<updatedAt> <completed><deleted> <owner> <audience>": updatedAt as
//                          20-digit sortable text, completed and deleted 1/0, the audience sorted
//                          and comma-joined
//   <p>us:<user>    string five little-endian doubles (Lua's struct): total, completed, last
//                          event id, statistics ms, ms the history's TTL was last set
//   <p>h:<user>     stream history: entry id <eventId>-0, fields at (ms), i (task id JSON),
//                          a (action), t (task JSON); MAXLEN-bounded, expires at least max-age
//                          after its last append (the TTL is reset every max-age/16)
//   <p>in:<inst>    stream an instance's inbox: each committed batch that reached a user with a
//                          live lease on it, field b (the batch record); MAXLEN ~ bounded, expires
//                          when no batch came for a while (its instance is gone)
//   <p>conn:<user>  zset   connection leases: member <instance>:<session>, score expiry (ms)
//   <p>r:<user>     string the user's route, "<instance> <until ms> ...": the instances holding
//                          a live lease, each until its last lease's expiry plus one lease TTL;
//                          kept by the lease scripts, gone with the last lease
//   <p>epoch        hash   b first id of this epoch less one, w batches applied (never decreases),
//                          n epoch number, s start (ms), l 1 when keys of the layout before this
//                          one (hashes t:<taskKey> and u:<user>) may exist: see epoch_script
// User ids cannot contain ',' or ' ' (SPEC §2: [A-Za-z0-9._-]), which the strings rely on.
// The scripts build key names from their arguments, so this needs a standalone Redis (or a
// replicated primary), not Redis Cluster; and Redis must not evict (maxmemory-policy noeviction,
// its default), as a script is not rolled back if a command in it fails half-way.
std::string inbox_key(std::string_view prefix, std::string_view instance);
std::string lease_key(std::string_view prefix, std::string_view user);
std::string route_key(std::string_view prefix, std::string_view user);

// Epochs: ids only grow, even when Redis loses writes. Every id of an epoch is above the epoch's
// base (its start in ms times 1000). A new epoch starts when Redis holds none (new or emptied) or
// has counted fewer applied batches than the caller has seen (restored from an older snapshot, or
// a replica that missed the last writes took over); a resume from an id below the base cannot be
// complete. Each script that gives out ids checks first; so does every (re)connect.
// epoch: ARGV = prefix, batches seen by the caller, newest epoch number it knows. Returns {base, number, started (0: no, 1: there
// was none, 2: Redis was behind), batches applied, start ms}.
extern const std::string epoch_script;
// apply: ARGV = prefix, now ms, history max events, history ttl ms, inbox max length, batches seen
// by the caller, newest epoch number it knows, inbox ttl ms, event count, then per event: action, owner, sets audience (1/0), sharedWith
// (comma-joined), task key, task id JSON, task JSON, completed (1/0), updatedAt key. Appends the
// batch record (below) to the inbox of every instance with a live lease of a user it reached,
// and returns its receipt.
extern const std::string apply_script;
// history: ARGV = prefix, user, after, limit, cutoff ms. Drops entries older than the cutoff, then
// returns {last event id, oldest retained id, epoch base, epoch number, id1, payload1, ...}.
extern const std::string history_script;
// stats: ARGV = prefix, user. Returns {total, completed, statistics ms, last event id}.
extern const std::string stats_script;
// lease_acquire: KEYS = lease key, route key; ARGV = member, limit, ttl ms. 1 when taken (or
// renewed), else 0. Uses Redis's clock (TIME), so instances' clocks do not matter.
extern const std::string lease_acquire_script;
// lease_renew: ARGV = ttl ms, the renewing instance, then lease key, route key, member triples (each
// member that instance's). Extends the leases still there; returns the 0-based positions of the
// triples whose lease is gone.
extern const std::string lease_renew_script;
// lease_release: KEYS = lease key, route key; ARGV = member, ttl ms.
extern const std::string lease_release_script;

// A task event as the apply script's 9 arguments.
void append_event_args(std::vector<std::string>& args, const protocol::task_event& e);
// updatedAt as fixed-width text whose byte order is time order (Lua numbers are doubles; a
// nanosecond count would not survive them).
std::string sortable_time(std::chrono::system_clock::time_point t);

// The epoch a batch record was applied in: its batch count and base.
struct batch_epoch {
  std::uint64_t writes = 0;
  std::uint64_t base = 0;
};

// The batch record, lines of "<kind> <fields>" ending in '\n' (no field holds one: JSON text is
// serialised without raw newlines, user ids are [A-Za-z0-9._-]):
//   w <batches applied> <epoch base>          first, once
//   a <task id JSON>                          an applied event, followed by
//   t <task JSON>                             its task, and
//   u <user> <event id> <created|updated|deleted>   one per user it reached
//   i <task id JSON>                          an event older than the stored task: not applied
//   s <user> <total> <completed> <ms> <last event id>   each reached user's statistics after
// Parts, not JSON: Lua builds it without one concatenation per event, and it is read without
// unescaping. The apply script's caller gets a receipt: the same without t and s lines (its 202
// needs only the ids). Throws core::store_error when the text is not such a record.
enum class record_kind { batch, receipt };
core::apply_result decode_batch(std::string_view record, batch_epoch* epoch = nullptr,
                                record_kind kind = record_kind::batch);

}  // namespace dh::store::redis_schema
