// store_limits.cpp — what this machine's disk and SQLite can do at most, measured the way the
// durable store would use them: the ceilings a store design is judged against (issue 11).
//
//   store-limits [--dir DIR] [--seconds 2]
//
// Each probe runs for about --seconds in a fresh file under DIR and prints one row:
//   fdatasync           one 200-byte append + fdatasync per call
//   log-1000            append-only log, 200-byte records, one fdatasync per 1,000
//   sqlite-full-10      SQLite WAL, synchronous=FULL, 10 rows of 200 bytes per transaction
//   sqlite-full-1000    the same with 1,000 rows per transaction
//   sqlite-normal-1000  synchronous=NORMAL (no fsync per commit in WAL mode: not durable)
//   schema-1000         our shape per event: a task row (upsert), and per recipient (5) an audience
//                       row, a statistics upsert and a history row; 1,000 events per transaction
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace po = boost::program_options;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

const std::string record(200, 'r');

// Calls `step` (which does `per_step` units of work) until `seconds` pass; units per second.
double rate(double seconds, long per_step, const std::function<void()>& step) {
  const auto start = steady::now();
  long units = 0;
  while (std::chrono::duration<double>(steady::now() - start).count() < seconds) {
    step();
    units += per_step;
  }
  return static_cast<double>(units) / std::chrono::duration<double>(steady::now() - start).count();
}

struct fd_file {
  int fd;
  explicit fd_file(const fs::path& p) : fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644)) {
    if (fd < 0) throw std::runtime_error("open " + p.string());
  }
  ~fd_file() { ::close(fd); }
  void append(const std::string& s) const {
    if (::write(fd, s.data(), s.size()) != static_cast<ssize_t>(s.size())) throw std::runtime_error("write");
  }
  void sync() const {
    if (::fdatasync(fd) != 0) throw std::runtime_error("fdatasync");
  }
};

struct db {
  sqlite3* handle = nullptr;
  db(const fs::path& p, const char* synchronous) {
    fs::remove(p);
    fs::remove(p.string() + "-wal");
    fs::remove(p.string() + "-shm");
    if (sqlite3_open(p.c_str(), &handle) != SQLITE_OK) throw std::runtime_error("sqlite open");
    exec("PRAGMA journal_mode=WAL");
    exec(std::string("PRAGMA synchronous=") + synchronous);
  }
  ~db() { sqlite3_close(handle); }
  void exec(const std::string& sql) const {
    char* error = nullptr;
    if (sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string text = error ? error : "?";
      sqlite3_free(error);
      throw std::runtime_error("sqlite: " + text + " in " + sql);
    }
  }
  sqlite3_stmt* prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(handle, sql, -1, &s, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(handle));
    return s;
  }
};

void step(sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error("sqlite step");
  sqlite3_reset(s);
}

double sqlite_rows(const fs::path& dir, const char* synchronous, int per_txn, double seconds) {
  db d(dir / "rows.db", synchronous);
  d.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB)");
  auto* insert = d.prepare("INSERT INTO t(payload) VALUES(?)");
  const double r = rate(seconds, per_txn, [&] {
    d.exec("BEGIN");
    for (int i = 0; i < per_txn; ++i) {
      sqlite3_bind_blob(insert, 1, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
      step(insert);
    }
    d.exec("COMMIT");
  });
  sqlite3_finalize(insert);
  return r;
}

double schema_events(const fs::path& dir, int per_txn, double seconds) {
  db d(dir / "schema.db", "FULL");
  d.exec("CREATE TABLE tasks(key TEXT PRIMARY KEY, owner TEXT, updated INTEGER, task BLOB)");
  d.exec("CREATE TABLE audience(key TEXT, user TEXT, PRIMARY KEY(key, user))");
  d.exec("CREATE TABLE stats(user TEXT PRIMARY KEY, total INTEGER, completed INTEGER, last_id INTEGER)");
  d.exec("CREATE TABLE history(user TEXT, id INTEGER, at INTEGER, payload BLOB, PRIMARY KEY(user, id))");
  auto* task = d.prepare("INSERT INTO tasks VALUES(?,?,?,?) ON CONFLICT(key) DO UPDATE SET updated=excluded.updated, task=excluded.task");
  auto* audience = d.prepare("INSERT OR IGNORE INTO audience VALUES(?,?)");
  auto* stats = d.prepare("INSERT INTO stats VALUES(?,1,0,1) ON CONFLICT(user) DO UPDATE SET total=total+1, last_id=last_id+1");
  auto* history = d.prepare("INSERT INTO history VALUES(?,?,?,?)");
  long event = 0;
  const double r = rate(seconds, per_txn, [&] {
    d.exec("BEGIN");
    for (int i = 0; i < per_txn; ++i, ++event) {
      const auto key = fmt::format("task-{}", event % 200'000);
      const auto owner = fmt::format("u{}", event % 20'000);
      sqlite3_bind_text(task, 1, key.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(task, 2, owner.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(task, 3, event);
      sqlite3_bind_blob(task, 4, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
      step(task);
      for (int r = 0; r < 5; ++r) {
        const auto user = fmt::format("u{}", (event + r * 7) % 20'000);
        sqlite3_bind_text(audience, 1, key.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(audience, 2, user.c_str(), -1, SQLITE_TRANSIENT);
        step(audience);
        sqlite3_bind_text(stats, 1, user.c_str(), -1, SQLITE_TRANSIENT);
        step(stats);
        sqlite3_bind_text(history, 1, user.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(history, 2, event * 8 + r);
        sqlite3_bind_int64(history, 3, event);
        sqlite3_bind_blob(history, 4, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
        step(history);
      }
    }
    d.exec("COMMIT");
  });
  for (auto* s : {task, audience, stats, history}) sqlite3_finalize(s);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build/store-limits";
  double seconds = 2;
  po::options_description d("store-limits [options]: ceilings of fsync, an append-only log and SQLite here");
  d.add_options()("help", "print this help")("dir", po::value(&dir)->default_value(dir), "scratch directory (on the disk to measure)")(
      "seconds", po::value(&seconds)->default_value(seconds), "time per probe");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, d), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    fmt::print(stderr, "store-limits: {}\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::ostringstream text;
    text << d;
    fmt::print("{}", text.str());
    return 0;
  }
  fs::create_directories(dir);
  const fs::path base(dir);
  try {
    fd_file sync_file(base / "fsync.log");
    const double fsyncs = rate(seconds, 1, [&] {
      sync_file.append(record);
      sync_file.sync();
    });
    fd_file log_file(base / "append.log");
    const double log = rate(seconds, 1000, [&] {
      for (int i = 0; i < 1000; ++i) log_file.append(record);
      log_file.sync();
    });
    const double full10 = sqlite_rows(base, "FULL", 10, seconds);
    const double full1000 = sqlite_rows(base, "FULL", 1000, seconds);
    const double normal1000 = sqlite_rows(base, "NORMAL", 1000, seconds);
    const double schema = schema_events(base, 1000, seconds);
    fmt::print("{:<22}{:>14}\n", "probe", "per second");
    fmt::print("{:<22}{:>14.0f}  fdatasync calls\n", "fdatasync", fsyncs);
    fmt::print("{:<22}{:>14.0f}  records (200 B, fdatasync per 1,000)\n", "log-1000", log);
    fmt::print("{:<22}{:>14.0f}  rows (WAL, synchronous=FULL, 10 per transaction)\n", "sqlite-full-10", full10);
    fmt::print("{:<22}{:>14.0f}  rows (WAL, synchronous=FULL, 1,000 per transaction)\n", "sqlite-full-1000", full1000);
    fmt::print("{:<22}{:>14.0f}  rows (WAL, synchronous=NORMAL: not durable at commit)\n", "sqlite-normal-1000", normal1000);
    fmt::print("{:<22}{:>14.0f}  events (task + 5 x audience, stats, history; 1,000 per transaction)\n", "schema-1000", schema);
  } catch (const std::exception& e) {
    fmt::print(stderr, "store-limits: {}\n", e.what());
    return 1;
  }
  fs::remove_all(base);
  return 0;
}
