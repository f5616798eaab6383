#include "net/server.hpp"

#include "net/http_session.hpp"
#include "net/net.hpp"
#include "net/routes.hpp"
#include "protocol/messages.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <optional>

namespace dh::net {

namespace {

// Serves one connection on its own executor (a thread's loop or a strand).
void spawn_http_session(server_context& ctx, tcp::socket socket, std::optional<tcp::endpoint> peer, listener port) {
  auto executor = socket.get_executor();
  asio::co_spawn(executor, run_http_session(ctx, std::move(socket), peer, port), report_failure(ctx));
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, server_context& ctx,
                                  const std::vector<asio::any_io_executor>& executors, bool use_strands,
                                  listener port) {
  std::size_t turn = 0;
  // Out of descriptors (EMFILE/ENFILE) every retry fails the same way: one warning per interval,
  // saying how many failures it stands for, instead of ten lines a second.
  constexpr auto warn_interval = std::chrono::seconds(10);
  std::optional<core::steady_time> warned_at;
  std::size_t failures_unreported = 0;
  for (;;) {
    const auto& home = executors[turn++ % executors.size()];
    // A loop run by one thread is already a strand; a strand executor would also cost every
    // I/O object of the connection a heap block (it does not fit any_io_executor's buffer).
    tcp::socket socket(use_strands ? asio::any_io_executor(asio::make_strand(home)) : home);
    tcp::endpoint peer;  // filled by accept() itself: no getpeername per connection
    auto [ec] = co_await acceptor.async_accept(socket, peer, as_values);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Typically EMFILE: keep serving the connections we have and try again shortly.
      ++failures_unreported;
      const auto now = ctx.clock.steady_now();
      if (!warned_at || now - *warned_at >= warn_interval) {
        ctx.log.warn("accept failed {} time(s) since the last warning: {}; retrying every 100 ms", failures_unreported,
                     ec.message());
        warned_at = now;
        failures_unreported = 0;
      }
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(as_values);
      continue;
    }
    spawn_http_session(ctx, std::move(socket), peer, port);
  }
}

}  // namespace

server::server(asio::io_context& ioc, server_settings settings, protocol::jwt_verifier jwt, const core::clock& clock,
               const core::logger& log, core::hub& hub, core::admission& admission, core::event_store& events,
               core::metrics& metrics, std::vector<asio::any_io_executor> connection_executors)
    : hub_(hub),
      context_{std::move(settings), std::move(jwt), clock, log, hub, admission, events, metrics, clock.steady_now()},
      connection_executors_(std::move(connection_executors)),
      use_strands_(connection_executors_.empty()),
      acceptor_(asio::make_strand(ioc)),
      internal_acceptor_(asio::make_strand(ioc)) {
  if (connection_executors_.empty()) connection_executors_.push_back(ioc.get_executor());
  // Once here rather than for every upgrade: each request's Origin is serialised the same way.
  for (auto& origin : context_.settings.allowed_origins)
    if (origin != "*") origin = serialized_origin(origin);
}

tcp::endpoint server::listen() {
  const tcp::endpoint endpoint(asio::ip::make_address(context_.settings.bind), context_.settings.port);
  return start_listening(acceptor_, endpoint, context_.settings.reuse_port, listener::public_port);
}

std::optional<tcp::endpoint> server::listen_internal() {
  if (!context_.settings.internal_port) return std::nullopt;
  const tcp::endpoint endpoint(asio::ip::make_address(context_.settings.internal_bind), *context_.settings.internal_port);
  // Shares a port with other instances too: each has its own operator's view.
  return start_listening(internal_acceptor_, endpoint, context_.settings.reuse_port, listener::internal_port);
}

tcp::endpoint server::start_listening(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, bool reuse_port,
                                      listener port) {
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  if (reuse_port) acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(acceptor.get_executor(), accept_loop(acceptor, context_, connection_executors_, use_strands_, port),
                 [this](std::exception_ptr e) {
                   if (e) context_.log.error("accept loop ended: {}", core::describe(e));
                 });
  return acceptor.local_endpoint();
}

void server::serve(tcp::socket socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  spawn_http_session(context_, std::move(socket), ec ? std::nullopt : std::optional<tcp::endpoint>(peer),
                     listener::public_port);
}

void server::shut_down() {
  if (context_.draining.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  const auto now = context_.clock.wall_now();
  hub_.shut_down(core::make_frame(protocol::encode_connection_status(protocol::connection_state::disconnected,
                                                                     "Server is shutting down", now)),
                 1001);
}

}  // namespace dh::net
