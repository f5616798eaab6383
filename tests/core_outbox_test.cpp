// core_outbox_test.cpp — a session's bounded outbound queue: capacity, FIFO draining, the
// first-wins close request, shut-down, and the writer coroutine's receive() on an io_context.
#include "core/outbox.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <vector>

namespace core_outbox_test {  // unity builds compile several test files as one unit

namespace asio = boost::asio;
using dh::core::close_request;
using dh::core::make_frame;
using dh::core::outbound;
using dh::core::outbox;
using push_result = outbox::push_result;

TEST_CASE("outbox accepts pushes up to its capacity, then reports full") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 3);
  CHECK(box.push(make_frame("a")) == push_result::ok);
  CHECK(box.push(make_frame("b")) == push_result::ok);
  CHECK(box.push_ping() == push_result::ok);
  CHECK(box.push(make_frame("d")) == push_result::full);
  CHECK(box.push_ping() == push_result::full);
  SUBCASE("draining one makes room for one") {
    REQUIRE(box.try_receive().has_value());
    CHECK(box.push(make_frame("e")) == push_result::ok);
    CHECK(box.push(make_frame("f")) == push_result::full);
  }
}

TEST_CASE("outbox try_receive drains in FIFO order") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 8);
  CHECK_FALSE(box.try_receive().has_value());
  REQUIRE(box.push(make_frame("first")) == push_result::ok);
  REQUIRE(box.push_ping() == push_result::ok);
  REQUIRE(box.push(make_frame("second")) == push_result::ok);
  REQUIRE(box.push(make_frame("third")) == push_result::ok);

  auto one = box.try_receive();
  REQUIRE(one.has_value());
  CHECK(one->what == outbound::kind::frame);
  REQUIRE(one->data != nullptr);
  CHECK(*one->data == "first");

  auto two = box.try_receive();
  REQUIRE(two.has_value());
  CHECK(two->what == outbound::kind::ping);
  CHECK(two->data == nullptr);

  auto three = box.try_receive();
  REQUIRE(three.has_value());
  REQUIRE(three->data != nullptr);
  CHECK(*three->data == "second");

  auto four = box.try_receive();
  REQUIRE(four.has_value());
  REQUIRE(four->data != nullptr);
  CHECK(*four->data == "third");

  CHECK_FALSE(box.try_receive().has_value());
}

TEST_CASE("outbox shares frames instead of copying them") {
  asio::io_context ioc;
  outbox a(ioc.get_executor(), 2);
  outbox b(ioc.get_executor(), 2);
  const auto f = make_frame("shared");
  REQUIRE(a.push(f) == push_result::ok);
  REQUIRE(b.push(f) == push_result::ok);
  const auto from_a = a.try_receive();
  const auto from_b = b.try_receive();
  REQUIRE(from_a.has_value());
  REQUIRE(from_b.has_value());
  CHECK(from_a->data.get() == f.get());
  CHECK(from_b->data.get() == f.get());
}

TEST_CASE("outbox close request: the first one wins and is taken once") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 4);
  CHECK_FALSE(box.has_close_request());
  CHECK_FALSE(box.take_close_request().has_value());

  box.set_close_request({4013, make_frame("slow"), "slow consumer"});
  CHECK(box.has_close_request());
  box.set_close_request({1000, nullptr, "later"});
  CHECK(box.has_close_request());

  const auto taken = box.take_close_request();
  REQUIRE(taken.has_value());
  CHECK(taken->code == 4013);
  CHECK(taken->reason == "slow consumer");
  REQUIRE(taken->last_frame != nullptr);
  CHECK(*taken->last_frame == "slow");
  CHECK_FALSE(box.take_close_request().has_value());
  CHECK(box.has_close_request());  // still requested: the session is ending

  SUBCASE("a request after the take is still ignored") {
    box.set_close_request({1001, nullptr, "again"});
    CHECK_FALSE(box.take_close_request().has_value());
  }
}

TEST_CASE("outbox close request wakes the writer") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 4);
  std::optional<outbound> item;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { item = co_await box.receive(); }, asio::detached);
  ioc.run_one();  // the writer is now waiting on an empty queue
  box.set_close_request({1001, nullptr, "going away"});
  ioc.run();
  REQUIRE(item.has_value());
  CHECK(item->what == outbound::kind::wake);
  CHECK(box.close_request_reason() == std::pair<std::uint16_t, std::string>{1001, "going away"});
}

TEST_CASE("outbox close request still lands when the queue is full") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 1);
  REQUIRE(box.push(make_frame("a")) == push_result::ok);
  box.set_close_request({4013, nullptr, "full"});
  CHECK(box.has_close_request());
  const auto taken = box.take_close_request();
  REQUIRE(taken.has_value());
  CHECK(taken->code == 4013);
}

TEST_CASE("outbox after shut_down refuses pushes") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 4);
  REQUIRE(box.push(make_frame("a")) == push_result::ok);
  box.shut_down();
  CHECK(box.push(make_frame("b")) == push_result::closed);
  CHECK(box.push_ping() == push_result::closed);
  SUBCASE("shutting down twice is harmless") {
    box.shut_down();
    CHECK(box.push(make_frame("c")) == push_result::closed);
  }
}

TEST_CASE("outbox receive() in a coroutine") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 4);
  std::vector<std::optional<outbound>> received;
  bool finished = false;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          auto item = co_await box.receive();
          const bool end = !item.has_value();
          received.push_back(std::move(item));
          if (end) break;
        }
        finished = true;
      },
      asio::detached);

  SUBCASE("gets nullopt after shut_down") {
    ioc.poll();  // the coroutine is now suspended in receive()
    CHECK(received.empty());
    CHECK_FALSE(finished);
    box.shut_down();
    ioc.run();
    REQUIRE(received.size() == 1u);
    CHECK_FALSE(received.front().has_value());
    CHECK(finished);
  }
  SUBCASE("gets frames pushed while it waits, in order, then nullopt") {
    ioc.poll();
    REQUIRE(box.push(make_frame("one")) == push_result::ok);
    REQUIRE(box.push(make_frame("two")) == push_result::ok);
    ioc.poll();
    REQUIRE(received.size() == 2u);
    REQUIRE(received[0].has_value());
    CHECK(*received[0]->data == "one");
    REQUIRE(received[1].has_value());
    CHECK(*received[1]->data == "two");
    CHECK_FALSE(finished);
    box.shut_down();
    if (ioc.stopped()) ioc.restart();
    ioc.run();
    REQUIRE(received.size() == 3u);
    CHECK_FALSE(received[2].has_value());
    CHECK(finished);
  }
}

TEST_CASE("outbox on_close_request fires on a close request") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 4);
  bool woke = false;
  box.on_close_request([&woke] { woke = true; });
  ioc.poll();
  CHECK_FALSE(woke);
  box.set_close_request({1000, nullptr, "bye"});
  ioc.run();
  CHECK(woke);
}

TEST_CASE("outbox on_close_request fires on shut_down") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 4);
  bool woke = false;
  box.on_close_request([&woke] { woke = true; });
  ioc.poll();
  CHECK_FALSE(woke);
  box.shut_down();
  ioc.run();
  CHECK(woke);
}

TEST_CASE("outbox is bounded in bytes as well as in frames") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 100, 10);
  CHECK(box.push(make_frame("aaaa")) == push_result::ok);
  CHECK(box.push(make_frame("bbbb")) == push_result::ok);
  CHECK(box.queued_bytes() == 8);
  CHECK(box.push(make_frame("ccc")) == push_result::full);  // 11 bytes would wait
  CHECK(box.push(make_frame("cc")) == push_result::ok);     // exactly 10
  REQUIRE(box.try_receive().has_value());
  CHECK(box.queued_bytes() == 6);
  CHECK(box.push(make_frame("dddd")) == push_result::ok);
}

TEST_CASE("outbox takes one frame larger than its byte bound when nothing waits") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 100, 10);
  CHECK(box.push(make_frame(std::string(64, 'x'))) == push_result::ok);  // else it could never be sent
  CHECK(box.push(make_frame("a")) == push_result::full);
  REQUIRE(box.try_receive().has_value());
  CHECK(box.queued_bytes() == 0);
  CHECK(box.push(make_frame("a")) == push_result::ok);
}

TEST_CASE("outbox frees its backlog at a close request and refuses what comes after") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 100, 1 << 20);
  for (int i = 0; i < 10; ++i) REQUIRE(box.push(make_frame(std::string(1000, 'x'))) == push_result::ok);
  CHECK(box.queued_bytes() == 10'000);
  box.set_close_request({4013, make_frame("bye"), "SLOW_CONSUMER"});
  CHECK(box.queued_bytes() == 0);
  CHECK_FALSE(box.try_receive().has_value());
  CHECK(box.push(make_frame("late")) == push_result::closed);
  const auto taken = box.take_close_request();
  REQUIRE(taken.has_value());
  CHECK(*taken->last_frame == "bye");
  // The writer has taken the request; the log can still say why the session ended.
  CHECK(box.close_request_reason() == std::pair<std::uint16_t, std::string>{4013, "SLOW_CONSUMER"});
}

namespace {

// Runs what is ready, without waiting: not run(), as a waiting coroutine is pending work.
void settle(asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

// A coroutine function, not a capturing lambda: GCC 12 mishandles those.
asio::awaitable<void> wait_for_room_then_mark(outbox& box, std::size_t bytes, asio::any_io_executor ex, bool& done) {
  co_await box.wait_for_room(bytes, std::move(ex));
  done = true;
}

// Starts a producer waiting for room for `bytes`; `done` turns true when it may go on.
void start_waiting_for_room(asio::io_context& ioc, outbox& box, std::size_t bytes, bool& done) {
  asio::co_spawn(ioc, wait_for_room_then_mark(box, bytes, ioc.get_executor(), done), asio::detached);
}

}  // namespace

TEST_CASE("outbox wait_for_room completes once the next frame fits, or at a close") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 100, 100);
  for (int i = 0; i < 8; ++i) REQUIRE(box.push(make_frame(std::string(10, 'x'))) == push_result::ok);  // 80 bytes
  bool roomy = false;
  start_waiting_for_room(ioc, box, 50, roomy);
  settle(ioc);
  CHECK_FALSE(roomy);  // 80 of 100 bytes wait
  for (int i = 0; i < 2; ++i) REQUIRE(box.try_receive().has_value());
  settle(ioc);
  CHECK_FALSE(roomy);  // 60
  REQUIRE(box.try_receive().has_value());
  settle(ioc);
  CHECK(roomy);  // 50 + 50 fit

  SUBCASE("a frame larger than the bound waits for an empty queue") {
    bool empty = false;
    start_waiting_for_room(ioc, box, 500, empty);
    settle(ioc);
    CHECK_FALSE(empty);
    while (box.try_receive()) {
    }
    settle(ioc);
    CHECK(empty);
  }

  SUBCASE("a close request releases a waiter too") {
    for (int i = 0; i < 5; ++i) REQUIRE(box.push(make_frame(std::string(10, 'x'))) == push_result::ok);
    bool released = false;
    start_waiting_for_room(ioc, box, 50, released);
    settle(ioc);
    CHECK_FALSE(released);
    box.set_close_request({4013, nullptr, "SLOW_CONSUMER"});
    settle(ioc);
    CHECK(released);
  }
}

// The session's writer waits this way while idle: a callback, no coroutine frame.
TEST_CASE("outbox async_receive hands one item to a callback, on the outbox's executor") {
  asio::io_context ioc;
  outbox box(ioc.get_executor(), 4);
  std::vector<std::optional<outbound>> received;
  auto wait = [&] { box.async_receive([&](std::optional<outbound> item) { received.push_back(std::move(item)); }); };

  SUBCASE("a frame already queued is handed over without waiting, but not inline") {
    REQUIRE(box.push(make_frame("queued")) == push_result::ok);
    wait();
    CHECK(received.empty());
    ioc.poll();
    REQUIRE(received.size() == 1u);
    REQUIRE(received[0].has_value());
    CHECK(*received[0]->data == "queued");
  }
  SUBCASE("a frame pushed while it waits goes straight to it, and only once") {
    wait();
    ioc.poll();
    CHECK(received.empty());
    REQUIRE(box.push(make_frame("live")) == push_result::ok);
    REQUIRE(box.push(make_frame("queued after")) == push_result::ok);
    ioc.poll();
    REQUIRE(received.size() == 1u);
    CHECK(*received[0]->data == "live");
    CHECK(*box.try_receive()->data == "queued after");  // the second waits for the writer's next take
  }
  SUBCASE("a close request wakes it") {
    wait();
    box.set_close_request({4013, nullptr, "slow"});
    ioc.poll();
    REQUIRE(received.size() == 1u);
    REQUIRE(received[0].has_value());
    CHECK(received[0]->what == outbound::kind::wake);
  }
  SUBCASE("shut_down ends it with nullopt, also when it comes to wait afterwards") {
    wait();
    box.shut_down();
    wait();
    ioc.poll();
    REQUIRE(received.size() == 2u);
    CHECK_FALSE(received[0].has_value());
    CHECK_FALSE(received[1].has_value());
  }
}

}  // namespace core_outbox_test
