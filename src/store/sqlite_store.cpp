#include "store/sqlite_store.hpp"

#include "store/log_codec.hpp"

#include <fmt/format.h>

namespace dh::store {

namespace fs = std::filesystem;
using core::store_error;

namespace {

// Groups replayed at start-up are folded this many to a transaction.
constexpr std::size_t replay_chunk = 512;
// The folding connection gets 32 MB of pages instead of SQLite's 2 MB: history inserts land on
// every active user's last leaf page, and re-reading those from the OS took most of the folding
// thread (perf). Point lookups and history reads need little.
constexpr int writer_cache_kib = 32 * 1024;
constexpr int reader_cache_kib = 4 * 1024;

fs::path data_file(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw store_error(fmt::format("cannot create data dir {}: {}", dir.string(), ec.message()));
  return dir / sqlite_tables::file_name;
}

table_changes rows_of(std::uint64_t seq, core::wall_time now, core::change_set& changes) {
  return {seq, now, std::move(changes.tasks), std::move(changes.users), std::move(changes.history)};
}

}  // namespace

std::unique_ptr<sqlite_store> sqlite_store::open(const fs::path& dir, core::history_settings settings,
                                                 sqlite_options options) {
  return std::make_unique<sqlite_store>(key{}, dir, settings, options);
}

sqlite_store::sqlite_store(key, const fs::path& dir, core::history_settings settings, sqlite_options options)
    : reader_(std::make_unique<sqlite_tables>(data_file(dir), settings, reader_cache_kib)),
      model_(options.task_cache_rows,
             [this](const std::string& key) {
               return stored_keys_.may_contain(key) ? reader_->find_task(key) : std::optional<core::task_row>();
             }),
      log_(dir / log_dir, options.segment_bytes) {
  reader_->for_each_task_key([this](std::string_view key) { stored_keys_.add(key); });
  auto writer = std::make_unique<sqlite_tables>(dir / file_name, settings, writer_cache_kib);
  writer->for_each_user([this](std::string user, core::user_stats stats) { model_.load(std::move(user), stats); });
  const auto durable = replay(*writer);
  folder_ = std::make_unique<table_folder>(std::move(writer), durable, options.max_unfolded_bytes,
                                           options.segment_bytes / 2, options.fold_gather);
}

sqlite_store::~sqlite_store() {
  folder_.reset();  // folds and checkpoints what is left
}

// The groups the log holds beyond what SQLite applied go through the same rules again. The
// rules are deterministic given the stored state, the events and the group's time, so event
// ids, statistics and history come out exactly as they did before the restart.
std::uint64_t sqlite_store::replay(sqlite_tables& writer) {
  const auto applied = writer.applied_seq();
  auto last = applied;
  std::vector<table_changes> chunk;
  const auto fold = [&] {
    writer.write(chunk);
    chunk.clear();
    model_.settled(last);
  };
  log_.replay([&](std::string_view body) {
    auto group = decode_group(body);
    if (group.seq <= applied) return;
    if (group.seq != last + 1)
      throw store_error(fmt::format("event log: group {} follows group {}; the log is missing groups", group.seq, last));
    auto changes = model_.plan(group.events, group.now);
    remember_keys(changes);
    model_.commit(changes, group.seq);
    chunk.push_back(rows_of(group.seq, group.now, changes));
    last = group.seq;
    if (chunk.size() >= replay_chunk) fold();
  });
  if (!chunk.empty()) fold();
  replayed_ = last - applied;
  next_seq_ = last + 1;
  log_.sync_replayed();
  log_.start(next_seq_);
  // Even with nothing replayed: what SQLite shows may still be only in the page cache.
  if (!writer.make_durable()) return 0;  // the log keeps every segment until it is
  log_.drop_through(last);
  return last;
}

core::apply_result sqlite_store::apply(const std::vector<protocol::task_event>& events, core::wall_time now) {
  folder_->check();
  model_.settled(folder_->folded_seq());
  log_.drop_through(folder_->durable_seq());

  auto changes = model_.plan(events, now);
  const auto seq = next_seq_;
  record_.clear();
  encode_group(seq, now, events, record_);
  log_.append(seq, record_);  // throws before anything changed: nothing of a failed batch applies
  ++next_seq_;
  remember_keys(changes);
  model_.commit(changes, seq);
  folder_->push(rows_of(seq, now, changes), record_.size());
  return std::move(changes.result);
}

void sqlite_store::remember_keys(const core::change_set& changes) {
  for (const auto& [key, row] : changes.tasks) stored_keys_.add(key);
}

core::user_stats sqlite_store::stats(const std::string& user) { return model_.stats(user); }

core::history_page sqlite_store::history(const std::string& user, std::uint64_t after, std::size_t limit,
                                         core::wall_time now) {
  folder_->wait_folded();  // reads must see every batch whose apply() returned
  return reader_->history(user, after, limit, now, model_.stats(user).last_event_id);
}

}  // namespace dh::store
