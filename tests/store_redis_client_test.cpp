// store_redis_client_test.cpp — the hiredis/Asio adapter against a real redis-server: pipelined
// commands from other threads, replies decoded once, errors as values, a lost server noticed and
// reconnected to; and the --redis URL rules.
#include "core/store.hpp"
#include "store/redis_client.hpp"
#include "store/redis_url.hpp"
#include "support/redis_server.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace store_redis_client_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
using namespace dh;
using namespace std::chrono_literals;
using store::redis_reply;

namespace {

// A client on a thread of its own, as redis_backend runs it; state changes are recorded.
struct client_fixture {
  explicit client_fixture(const std::string& url) {
    auto endpoint = store::parse_redis_url(url);
    REQUIRE(endpoint.has_value());
    store::redis_timing backoff;
    backoff.first = 20ms;
    backoff.cap = 200ms;
    client = std::make_unique<store::redis_client>(ioc.get_executor(), *endpoint, "test", log, backoff);
    client->on_state([this](bool up) {
      std::lock_guard lock(mutex);
      states.push_back(up);
      changed.notify_all();
    });
    client->start();
    thread = std::jthread([this] { ioc.run(); });
  }
  ~client_fixture() {
    client->stop();
    work.reset();
    asio::post(ioc, [this] { ioc.stop(); });
    thread.join();
  }
  // Waits until the client has reported `count` state changes, the last being `up`.
  bool wait_for_state(std::size_t count, bool up) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return states.size() >= count && states.back() == up; });
  }
  redis_reply run(std::vector<std::string> args) {
    return asio::co_spawn(caller, client->command(std::move(args)), asio::use_future).get();
  }

  core::logger log{core::log_level::error};
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::unique_ptr<store::redis_client> client;
  asio::thread_pool caller{2};  // the callers are other threads, as network threads are
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<bool> states;
  std::jthread thread;
};

}  // namespace

TEST_CASE("redis client: replies of every kind are decoded, errors come back as values") {
  test::redis_server server;
  client_fixture f(server.url());
  REQUIRE(f.wait_for_state(1, true));

  CHECK(f.run({"SET", "k", "v"}).type == redis_reply::kind::status);
  CHECK(f.run({"GET", "k"}).text == "v");
  CHECK(f.run({"GET", "missing"}).is_nil());
  CHECK(f.run({"RPUSH", "list", "a", std::string("b\0c", 3)}).integer == 2);
  const auto list = f.run({"LRANGE", "list", "0", "-1"});
  REQUIRE(list.type == redis_reply::kind::array);
  REQUIRE(list.elements.size() == 2);
  CHECK(list.elements[1].text == std::string("b\0c", 3));  // binary-safe both ways
  const auto wrong = f.run({"INCR", "k"});
  CHECK(wrong.is_error());
  CHECK(store::is_error(wrong, "ERR"));
}

TEST_CASE("redis client: commands from many threads are pipelined and each gets its own reply") {
  test::redis_server server;
  client_fixture f(server.url());
  REQUIRE(f.wait_for_state(1, true));

  constexpr int count = 500;
  std::vector<std::future<redis_reply>> replies;
  for (int i = 0; i < count; ++i)
    replies.push_back(asio::co_spawn(f.caller, f.client->command({"INCR", "counter"}), asio::use_future));
  std::set<long long> seen;
  for (auto& r : replies) seen.insert(r.get().integer);
  CHECK(seen.size() == count);  // every INCR answered once, with its own value
  CHECK(*seen.begin() == 1);
  CHECK(*seen.rbegin() == count);
}

TEST_CASE("redis client: a lost server fails the waiting command, and the client reconnects when it is back") {
  test::redis_server server;
  client_fixture f(server.url());
  REQUIRE(f.wait_for_state(1, true));
  CHECK(f.run({"SET", "k", "1"}).text == "OK");

  // A command blocked in Redis when the server dies fails as unavailable, not silently.
  auto blocked = asio::co_spawn(f.caller, f.client->command({"BLPOP", "never", "30"}), asio::use_future);
  server.stop();
  CHECK_THROWS_AS(blocked.get(), core::store_unavailable);
  REQUIRE(f.wait_for_state(2, false));
  CHECK_THROWS_AS(f.run({"PING"}), core::store_unavailable);  // down: refused at once

  server.start();
  REQUIRE(f.wait_for_state(3, true));
  CHECK(f.run({"PING"}).text == "PONG");
}

TEST_CASE("redis client: a server that is not there yet is retried until it is") {
  std::uint16_t port = 0;
  {
    test::redis_server probe;  // only to learn a port that a redis-server can bind
    port = probe.port();
  }
  client_fixture f("redis://127.0.0.1:" + std::to_string(port));
  CHECK_FALSE(f.client->up());
  CHECK_THROWS_AS(f.run({"PING"}), core::store_unavailable);
  // Nothing listens on the port yet; the client keeps retrying with backoff.
  test::redis_server later(port);
  REQUIRE(f.wait_for_state(1, true));
  CHECK(f.run({"PING"}).text == "PONG");
}

TEST_CASE("redis URL: what --redis accepts and refuses") {
  auto plain = store::parse_redis_url("redis://cache.internal:6380/3");
  REQUIRE(plain.has_value());
  CHECK(plain->host == "cache.internal");
  CHECK(plain->port == 6380);
  CHECK(plain->db == 3);
  CHECK(plain->password.empty());

  auto auth = store::parse_redis_url("redis://app:s%40cret@127.0.0.1");
  REQUIRE(auth.has_value());
  CHECK(auth->user == "app");
  CHECK(auth->password == "s@cret");
  CHECK(auth->port == 6379);
  CHECK(auth->describe().find("cret") == std::string::npos);  // logs never show the password

  auto password_only = store::parse_redis_url("redis://:pw@[::1]:7000");
  REQUIRE(password_only.has_value());
  CHECK(password_only->user.empty());
  CHECK(password_only->password == "pw");
  CHECK(password_only->host == "::1");

  for (const char* bad : {"rediss://host:6379", "http://host", "redis://host:6379/16", "redis://host/x",
                          "redis://:6379", "redis://host:6379?db=1", "not a url"}) {
    CAPTURE(bad);
    auto r = store::parse_redis_url(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().starts_with("--redis: "));
  }
  CHECK(store::parse_redis_url("rediss://h:1").error().find("TLS") != std::string::npos);
}

}  // namespace store_redis_client_test
