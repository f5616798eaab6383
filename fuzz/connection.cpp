#include "connection.hpp"

#include "app/gateway.hpp"
#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/memory_store.hpp"
#include "net/server.hpp"
#include "protocol/jwt.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace dh::fuzz {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using stream_protocol = asio::local::stream_protocol;
constexpr auto as_values = asio::as_tuple(asio::use_awaitable);

// Every input starts from a fresh server this often, so state gathered from earlier inputs
// (tasks, history) stays bounded in a long run and the teardown is fuzzed too.
constexpr int runs_per_server = 2000;

net::server_settings fuzz_settings() {
  net::server_settings s;
  s.ingest_key = std::string(ingest_key);
  s.max_message_bytes = 16 * 1024;
  // A peer that never answers our close costs the grace in real time: keep it short.
  s.close_grace = std::chrono::milliseconds(100);
  return s;
}

protocol::jwt_verifier fuzz_verifier() {
  protocol::jwt_settings s;
  s.key = std::string(jwt_secret);
  auto v = protocol::jwt_verifier::create(s);
  if (!v) std::abort();
  return std::move(*v);
}

struct file_closer {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

// The whole server on one thread: the store's work runs on the same loop, so a run depends only
// on its input. Debug logging goes to /dev/null: formatting what clients sent is fuzzed too.
struct server_under_test {
  asio::io_context ioc{1};
  core::clock clock;
  // DH_FUZZ_LOG=1 shows the server's log on stderr, to see what one input did.
  std::unique_ptr<std::FILE, file_closer> sink{std::getenv("DH_FUZZ_LOG") ? fdopen(dup(2), "w") : std::fopen("/dev/null", "w")};
  core::logger log{core::log_level::debug, core::log_format::text, sink.get()};
  core::memory_store store;
  app::local_backend local{store, ioc.get_executor(), ioc.get_executor(), fuzz_settings().admission};
  app::gateway gateway{ioc, fuzz_settings(), fuzz_verifier(), clock, log, local.parts()};
};

asio::awaitable<void> send_all(stream_protocol::socket& client, std::string input) {
  auto [ec, n] = co_await asio::async_write(client, asio::buffer(input), as_values);
  (void)n;
  (void)ec;  // the server may hang up before it has read everything: that is an answer too
  boost::system::error_code ignored;
  client.shutdown(stream_protocol::socket::shutdown_send, ignored);
}

// Reads until the server hangs up. With `head_only`, stops after the first response's header
// section instead; false if the server hung up before sending one.
asio::awaitable<bool> read_answers(stream_protocol::socket& client, bool head_only) {
  std::string seen;
  std::array<char, 16 * 1024> buffer;
  for (;;) {
    auto [ec, n] = co_await client.async_read_some(asio::buffer(buffer), as_values);
    if (ec) co_return false;
    if (!head_only) continue;
    seen.append(buffer.data(), n);
    if (seen.find("\r\n\r\n") != std::string::npos) co_return true;
  }
}

// A client as RFC 6455 wants it: the frames go only after the upgrade's answer has arrived.
// `sending` counts the writer still running, which must end before the socket goes.
asio::awaitable<void> client_side(stream_protocol::socket& client, std::string prefix, std::string bytes, int& sending) {
  if (!prefix.empty()) {
    auto [ec, n] = co_await asio::async_write(client, asio::buffer(prefix), as_values);
    (void)n;
    if (ec || !co_await read_answers(client, true)) co_return;
  }
  ++sending;
  asio::co_spawn(client.get_executor(), send_all(client, std::move(bytes)), [&sending](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    --sending;
  });
  co_await read_answers(client, false);
}

}  // namespace

void run_connection(std::string_view prefix, std::string_view bytes) {
  static std::optional<server_under_test> server;
  static int runs = 0;
  if (runs++ % runs_per_server == 0) {
    server.reset();
    server.emplace();
  }
  auto& ioc = server->ioc;

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  // The server's session takes a tcp::socket; a socket pair's end works the same for reads and
  // writes, and its peer address is simply unknown ("?").
  tcp::socket server_end(ioc);
  server_end.assign(tcp::v4(), fds[0]);
  stream_protocol::socket client(ioc);
  client.assign(stream_protocol(), fds[1]);

  server->gateway.server().serve(std::move(server_end));
  bool finished = false;
  int sending = 0;
  asio::co_spawn(ioc, client_side(client, std::string(prefix), std::string(bytes), sending), [&finished](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    finished = true;
  });
  // The previous input may have left the loop out of work, hence stopped: start it again.
  ioc.restart();
  while (!finished || sending > 0 || server->gateway.server().connection_count() > 0) {
    // Out of work with the client still waiting: nothing will ever answer it.
    if (ioc.run_one() == 0) std::abort();
  }
}

}  // namespace dh::fuzz
