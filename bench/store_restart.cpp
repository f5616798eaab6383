// store_restart.cpp — the embedded store with much stored data (issue 11): fills a data dir with
// --tasks tasks for --users users through the store itself, and verifies one after a restart:
// every user's statistics exact, last writer still winning for tasks long gone from the cache.
// bench/stored runs it around the real binary's restart (time to ready, RSS).
//
//   store-restart fill   --dir DIR [--tasks 1000000] [--users 100000]
//   store-restart verify --dir DIR [--tasks 1000000] [--users 100000]
//
// Task i belongs to user i % users; every third task is completed, every tenth is then updated
// one second later to flip that (so stored rows are not all first versions).
#include "core/memory_store.hpp"
#include "store/sqlite_store.hpp"

#include <boost/json/value.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace po = boost::program_options;
using dh::core::wall_time;
using dh::protocol::task_action;
using dh::protocol::task_event;
using steady = std::chrono::steady_clock;

namespace {

const wall_time t0 = wall_time{std::chrono::sys_days{std::chrono::year{2026} / 1 / 3}};

struct shape {
  long tasks = 1'000'000;
  long users = 100'000;

  std::string user(long i) const { return fmt::format("user-{}", i % users); }
  static std::string key(long i) { return fmt::format("task-{}", i); }
  static bool first_completed(long i) { return i % 3 == 0; }
  static bool flipped(long i) { return i % 10 == 0; }
  static bool completed(long i) { return first_completed(i) != flipped(i); }
  // The statistics every user must have, from arithmetic alone.
  std::vector<std::pair<long, long>> expected() const {
    std::vector<std::pair<long, long>> out(static_cast<std::size_t>(users));
    for (long i = 0; i < tasks; ++i) {
      auto& [total, done] = out[static_cast<std::size_t>(i % users)];
      ++total;
      done += completed(i) ? 1 : 0;
    }
    return out;
  }
};

task_event event(const shape& s, long i, task_action action, bool completed, wall_time at) {
  task_event e;
  e.action = action;
  e.owner = s.user(i);
  e.task_key = shape::key(i);
  e.task_id = boost::json::value(e.task_key);
  e.task = boost::json::object{{"id", e.task_key}, {"title", "stored"}, {"status", completed}};
  e.completed = completed;
  e.updated_at = at;
  return e;
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

int fill(const std::string& dir, const shape& s) {
  const auto start = steady::now();
  auto store = dh::store::sqlite_store::open(dir, {});
  constexpr long batch = 1000;
  std::vector<task_event> events;
  for (long first = 0; first < s.tasks; first += batch) {
    events.clear();
    for (long i = first; i < std::min(first + batch, s.tasks); ++i)
      events.push_back(event(s, i, task_action::created, shape::first_completed(i), t0));
    store->apply(events, t0);
  }
  for (long first = 0; first < s.tasks; first += batch * 10) {
    events.clear();
    for (long i = first; i < std::min(first + batch * 10, s.tasks); i += 10)
      events.push_back(event(s, i, task_action::updated, shape::completed(i), t0 + std::chrono::seconds(1)));
    store->apply(events, t0 + std::chrono::seconds(1));
  }
  const auto applied = seconds_since(start);
  store.reset();  // folds and checkpoints the rest
  const auto total = seconds_since(start);
  fmt::print("filled {} tasks for {} users: {:.1f} s ({:.0f} events/s through the log; {:.1f} s with the last fold)\n",
             s.tasks, s.users, applied, static_cast<double>(s.tasks + s.tasks / 10) / applied, total);
  return 0;
}

int verify(const std::string& dir, const shape& s) {
  const auto start = steady::now();
  auto store = dh::store::sqlite_store::open(dir, {});
  fmt::print("reopened in {:.2f} s, {} tasks in memory\n", seconds_since(start), store->cached_tasks());
  const auto expected = s.expected();
  long wrong = 0;
  for (long u = 0; u < s.users; ++u) {
    const auto stats = store->stats(s.user(u));
    const auto& [total, done] = expected[static_cast<std::size_t>(u)];
    if (stats.total != total || stats.completed != done) ++wrong;
  }
  // Last writer wins for tasks that were never read since the restart: a stale update is
  // ignored, a newer one applies as an update (the task exists) and moves the counters.
  std::mt19937_64 random(42);
  std::uniform_int_distribution<long> any(0, s.tasks - 1);
  long stale_applied = 0, newer_wrong = 0;
  const auto later = t0 + std::chrono::hours(1);
  for (int n = 0; n < 1000; ++n) {
    const long i = any(random);
    const auto before = store->stats(s.user(i));
    const auto stale = store->apply({event(s, i, task_action::updated, !shape::completed(i), t0 - std::chrono::seconds(1))}, later);
    if (stale.events[0].applied) ++stale_applied;
    const auto newer =
        store->apply({event(s, i, task_action::updated, shape::completed(i), later + std::chrono::seconds(n))}, later);
    const auto after = store->stats(s.user(i));
    if (!newer.events[0].applied || newer.events[0].audience.size() != 1 ||
        newer.events[0].audience[0].action != task_action::updated || after.total != before.total ||
        after.completed != before.completed)
      ++newer_wrong;
  }
  fmt::print("users with wrong statistics: {} of {}\n", wrong, s.users);
  fmt::print("stale updates applied: {} of 1000; newer updates wrong: {} of 1000\n", stale_applied, newer_wrong);
  fmt::print("tasks in memory after the checks: {}\n", store->cached_tasks());
  return wrong == 0 && stale_applied == 0 && newer_wrong == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode, dir;
  shape s;
  po::options_description flags("store-restart");
  flags.add_options()("mode", po::value(&mode)->required(), "fill or verify")(
      "dir", po::value(&dir)->required(), "data dir")("tasks", po::value(&s.tasks)->default_value(s.tasks),
                                                      "tasks stored")(
      "users", po::value(&s.users)->default_value(s.users), "users owning them");
  po::positional_options_description positional;
  positional.add("mode", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(flags).positional(positional).run(), vm);
    po::notify(vm);
    if (s.tasks < 1 || s.users < 1) throw std::invalid_argument("--tasks and --users must be positive");
    if (mode == "fill") return fill(dir, s);
    if (mode == "verify") return verify(dir, s);
    throw std::invalid_argument("mode must be fill or verify");
  } catch (const std::exception& e) {
    fmt::print(stderr, "store-restart: {}\n", e.what());
    return 2;
  }
}
