#include "load.hpp"

#include "histogram.hpp"
#include "protocol/jwt.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace dh::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using ws_stream = websocket::stream<beast::tcp_stream>;
constexpr auto as_values = asio::as_tuple(asio::use_awaitable);

namespace {

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

std::string mint(const load_options& o, const std::string& user) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto token = protocol::mint_token(protocol::jwt_alg::hs256, o.jwt_secret, {{"sub", user}, {"iat", now}, {"exp", now + 7200}});
  if (!token) throw std::runtime_error(token.error().message);
  return *token;
}

std::string user_name(int i) { return fmt::format("u{}", i); }

// Connects from 127.0.<source_net>.(2 + n % sources) so many connections fit in the ephemeral
// port range.
asio::awaitable<std::unique_ptr<ws_stream>> open_ws(const load_options& o, int n, const std::string& user,
                                                    const std::string& token) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  socket.open(tcp::v4());
  socket.set_option(tcp::socket::reuse_address(true));
  const auto source = asio::ip::make_address_v4(fmt::format("127.0.{}.{}", o.source_net, 2 + n % std::max(1, o.sources)));
  socket.bind({source, 0});
  co_await socket.async_connect({asio::ip::make_address(o.host), o.port}, asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  auto ws = std::make_unique<ws_stream>(std::move(socket));
  co_await ws->async_handshake(o.host, fmt::format("/ws/dashboard/{}?token={}", user, token), asio::use_awaitable);
  co_return ws;
}

asio::awaitable<std::string> read_text(ws_stream& ws, beast::flat_buffer& buffer) {
  buffer.clear();
  co_await ws.async_read(buffer, asio::use_awaitable);
  co_return beast::buffers_to_string(buffer.data());
}

// Whether a message's "type" is `type`, tolerating the spaces some JSON writers put after ':'.
bool has_type(std::string_view text, std::string_view type) {
  auto at = text.find(R"("type")");
  if (at == std::string_view::npos) return false;
  at += 6;
  while (at < text.size() && (text[at] == ' ' || text[at] == ':')) ++at;
  return text.substr(at).starts_with('"') && text.substr(at + 1).starts_with(type) &&
         text.substr(at + 1 + type.size()).starts_with('"');
}

// Subscribes and waits for the first dashboard_update (servers send `subscribed` first).
asio::awaitable<void> subscribe(ws_stream& ws, beast::flat_buffer& buffer, const std::string& user) {
  const auto msg = json::serialize(json::object{{"type", "subscribe_dashboard"}, {"payload", {{"userId", user}}}});
  co_await ws.async_write(asio::buffer(msg), asio::use_awaitable);
  for (;;) {
    const auto text = co_await read_text(ws, buffer);
    if (has_type(text, "dashboard_update")) co_return;
  }
}

long rss_kb(int pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return -1;
}

double cpu_seconds(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;  // fields 3..13
  long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

json::object latency_json(const histogram& h) {
  auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
  return {{"count", h.count()},       {"p50_ms", ms(h.percentile(0.5))},   {"p99_ms", ms(h.percentile(0.99))},
          {"p999_ms", ms(h.percentile(0.999))}, {"max_ms", ms(h.max())}};
}

// Reads an integer that follows `key` (e.g. "\"seq\":") in a message, or -1.
std::int64_t field(std::string_view text, std::string_view key) {
  const auto at = text.find(key);
  if (at == std::string_view::npos) return -1;
  std::int64_t v = -1;
  const char* begin = text.data() + at + key.size();
  while (begin < text.data() + text.size() && (*begin == ' ' || *begin == '"')) ++begin;
  std::from_chars(begin, text.data() + text.size(), v);
  return v;
}

void run_for(asio::io_context& ioc, double seconds) {
  ioc.run_for(std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds)));
}

}  // namespace

// One subscriber; events posted one at a time over a keep-alive connection; the time from
// writing the POST to reading the task_update (ingest-to-socket latency on an idle server).
json::object run_latency(const load_options& o) {
  asio::io_context ioc;
  const tcp::endpoint endpoint(asio::ip::make_address(o.host), o.port);
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(endpoint);
  ws.handshake(o.host, "/ws/dashboard/" + o.user + "?token=" + mint(o, o.user));
  beast::flat_buffer buffer;
  auto read_type = [&] {
    buffer.clear();
    ws.read(buffer);
    auto doc = json::parse(beast::buffers_to_string(buffer.data()));
    return std::string(doc.at("type").as_string());
  };
  read_type();  // connection_success
  ws.write(asio::buffer(json::serialize(json::object{{"type", "subscribe_dashboard"}, {"payload", {{"userId", o.user}}}})));
  while (read_type() != "dashboard_update") {
  }

  tcp::socket ingest(ioc);
  ingest.connect(endpoint);
  beast::flat_buffer ingest_buffer;
  std::vector<double> latencies_ms;
  for (int i = 0; i < o.count; ++i) {
    http::request<http::string_body> req{http::verb::post, "/api/v1/events", 11};
    req.set(http::field::host, o.host);
    req.set(http::field::authorization, "Bearer " + o.ingest_key);
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(json::object{
        {"action", "updated"}, {"userId", o.user}, {"task", {{"id", i % 16}, {"title", "bench"}, {"status", i % 2 == 0}}}});
    req.prepare_payload();
    const auto start = steady::now();
    http::write(ingest, req);
    http::response<http::string_body> res;
    http::read(ingest, ingest_buffer, res);
    if (res.result() != http::status::accepted) throw std::runtime_error("ingest refused: " + res.body());
    while (read_type() != "task_update") {
    }
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - start).count());
  }
  histogram h;
  for (double ms : latencies_ms) h.record(static_cast<std::uint64_t>(ms * 1000.0));
  return {{"events", latencies_ms.size()}, {"latency", latency_json(h)}};
}

json::object run_handshake(const load_options& o) {
  asio::io_context ioc(1);
  std::vector<std::string> tokens;
  for (int i = 0; i < o.connections; ++i) tokens.push_back(mint(o, user_name(i)));
  histogram latency;
  int next = 0, failed = 0;
  auto worker = [&]() -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    while (next < o.connections) {
      const int i = next++;
      const auto start = steady::now();
      try {
        auto ws = co_await open_ws(o, i, user_name(i), tokens[static_cast<std::size_t>(i)]);
        co_await read_text(*ws, buffer);  // connection_success
        latency.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - start).count()));
        beast::get_lowest_layer(*ws).close();
      } catch (const std::exception&) {
        ++failed;
      }
    }
  };
  const auto start = steady::now();
  for (int w = 0; w < o.concurrency; ++w) asio::co_spawn(ioc, worker(), asio::detached);
  ioc.run_for(std::chrono::seconds(120));
  const double elapsed = std::chrono::duration<double>(steady::now() - start).count();
  return {{"handshakes", latency.count()}, {"failed", failed}, {"seconds", elapsed},
          {"handshakes_per_s", static_cast<double>(latency.count()) / elapsed}, {"latency", latency_json(latency)}};
}

json::object run_hold(const load_options& o) {
  if (o.server_pid <= 0) throw std::runtime_error("hold needs --server-pid to read the server's memory");
  asio::io_context ioc(1);
  const long rss_before = rss_kb(o.server_pid);
  std::vector<std::unique_ptr<ws_stream>> held(static_cast<std::size_t>(o.connections));
  int next = 0, opened = 0, failed = 0;
  auto opener = [&]() -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    while (next < o.connections) {
      const int i = next++;
      try {
        const auto user = user_name(o.first_user + i / 5);  // five per user: the contract's per-user limit
        auto ws = co_await open_ws(o, i, user, mint(o, user));
        co_await read_text(*ws, buffer);
        held[static_cast<std::size_t>(i)] = std::move(ws);
        ++opened;
      } catch (const std::exception&) {
        ++failed;
      }
    }
  };
  for (int w = 0; w < o.concurrency; ++w) asio::co_spawn(ioc, opener(), asio::detached);
  ioc.run_for(std::chrono::seconds(300));
  ioc.restart();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let the server settle before reading it
  const long rss_after = rss_kb(o.server_pid);
  const double cpu_before = cpu_seconds(o.server_pid);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
  const double cpu_idle = (cpu_seconds(o.server_pid) - cpu_before) / o.idle_seconds;
  for (auto& ws : held)
    if (ws) beast::get_lowest_layer(*ws).close();
  const double per_conn_kb = opened > 0 ? static_cast<double>(rss_after - rss_before) / opened : 0;
  return {{"opened", opened},           {"failed", failed},         {"server_rss_before_kb", rss_before},
          {"server_rss_after_kb", rss_after}, {"rss_per_connection_kb", per_conn_kb},
          {"idle_cpu_share", cpu_idle}};
}

json::object run_fanout(const load_options& o, bool with_slow_clients) {
  asio::io_context ioc(1);
  const int conns = o.users * o.per_user;
  struct receiver {
    int user = 0;
    bool slow = false;
    std::vector<bool> seen;
    std::uint64_t received = 0, duplicates = 0;
    histogram latency;
    std::unique_ptr<ws_stream> ws;
  };
  std::vector<receiver> receivers(static_cast<std::size_t>(conns));
  int ready = 0, failed = 0;
  // Connect and subscribe everyone before the clock starts.
  auto connector = [&](int first) -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    for (int i = first; i < conns; i += o.concurrency) {
      auto& r = receivers[static_cast<std::size_t>(i)];
      r.user = i / o.per_user;
      r.slow = with_slow_clients && (i % 100) < static_cast<int>(o.slow_share * 100);
      try {
        const auto user = user_name(r.user);
        r.ws = co_await open_ws(o, i, user, mint(o, user));
        co_await read_text(*r.ws, buffer);
        co_await subscribe(*r.ws, buffer, user);
        ++ready;
      } catch (const std::exception&) {
        ++failed;
      }
    }
  };
  for (int w = 0; w < std::min(o.concurrency, conns); ++w) asio::co_spawn(ioc, connector(w), asio::detached);
  ioc.run_for(std::chrono::seconds(120));
  ioc.restart();

  auto reader = [&](receiver& r) -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [ec, n] = co_await r.ws->async_read(buffer, as_values);
      if (ec) co_return;
      const std::string_view text(static_cast<const char*>(buffer.data().data()), buffer.size());
      if (!has_type(text, "task_update")) continue;
      const auto seq = field(text, R"("seq":)");
      const auto sent = field(text, R"("sentAt":)");
      if (seq < 0 || sent < 0) continue;
      r.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, mono_ns() - sent) / 1000));
      if (static_cast<std::size_t>(seq) >= r.seen.size()) r.seen.resize(static_cast<std::size_t>(seq) + 1);
      if (r.seen[static_cast<std::size_t>(seq)]) ++r.duplicates;
      r.seen[static_cast<std::size_t>(seq)] = true;
      ++r.received;
    }
  };
  for (auto& r : receivers)
    if (r.ws && !r.slow) asio::co_spawn(ioc, reader(r), asio::detached);

  // Posters: events round-robin over users, `batch` per POST, paced to `rate` events/s.
  std::vector<int> posted_per_user(static_cast<std::size_t>(o.users), 0);
  std::uint64_t posted = 0, post_errors = 0;
  const auto post_start = steady::now();
  const auto post_end = post_start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.seconds));
  auto poster = [&](int id, int posters) -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    beast::tcp_stream stream(ex);
    co_await stream.async_connect({asio::ip::make_address(o.host), o.ingest_port != 0 ? o.ingest_port : o.port},
                                  asio::use_awaitable);
    beast::flat_buffer buffer;
    asio::steady_timer pace(ex);
    const double per_poster = static_cast<double>(o.rate) / posters;
    std::uint64_t mine = 0;
    int next_user = id;
    while (steady::now() < post_end) {
      const auto due = post_start + std::chrono::duration_cast<steady::duration>(
                                        std::chrono::duration<double>(static_cast<double>(mine) / per_poster));
      if (due > steady::now()) {
        pace.expires_at(due);
        co_await pace.async_wait(asio::use_awaitable);
      }
      std::string body = "[";
      for (int b = 0; b < o.batch; ++b) {
        const int user = next_user % o.users;
        next_user += posters;
        const int seq = posted_per_user[static_cast<std::size_t>(user)]++;
        fmt::format_to(std::back_inserter(body),
                       R"({}{{"action":"created","userId":"{}","task":{{"id":"{}-{}","title":"bench","status":false,"seq":{},"sentAt":{}}}}})",
                       b == 0 ? "" : ",", user_name(user), user_name(user), seq, seq, mono_ns());
      }
      body += "]";
      http::request<http::string_body> req{http::verb::post, "/api/v1/events", 11};
      req.set(http::field::host, o.host);
      req.set(http::field::authorization, "Bearer " + o.ingest_key);
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
      req.prepare_payload();
      co_await http::async_write(stream, req, asio::use_awaitable);
      http::response<http::string_body> res;
      co_await http::async_read(stream, buffer, res, asio::use_awaitable);
      if (res.result_int() / 100 != 2) ++post_errors;
      posted += static_cast<std::uint64_t>(o.batch);
      mine += static_cast<std::uint64_t>(o.batch);
    }
  };
  const int posters = std::max(1, o.posters);
  for (int p = 0; p < posters; ++p) asio::co_spawn(ioc, poster(p, posters), asio::detached);
  run_for(ioc, o.seconds + 3.0);  // the posting time plus a drain for deliveries in flight
  const double elapsed = std::chrono::duration<double>(steady::now() - post_start).count() - 3.0;

  histogram all;
  std::uint64_t received = 0, duplicates = 0, lost = 0, measured = 0;
  for (auto& r : receivers) {
    if (!r.ws || r.slow) continue;
    ++measured;
    all.merge(r.latency);
    received += r.received;
    duplicates += r.duplicates;
    const int expected = posted_per_user[static_cast<std::size_t>(r.user)];
    for (int s = 0; s < expected; ++s)
      if (static_cast<std::size_t>(s) >= r.seen.size() || !r.seen[static_cast<std::size_t>(s)]) ++lost;
  }
  for (auto& r : receivers)
    if (r.ws) beast::get_lowest_layer(*r.ws).close();
  return {{"connections", ready},
          {"connect_failed", failed},
          {"measured_connections", measured},
          {"events_posted", posted},
          {"post_errors", post_errors},
          {"delivered", received},
          {"lost", lost},
          {"duplicates", duplicates},
          {"delivered_per_s", static_cast<double>(received) / std::max(elapsed, 0.001)},
          {"latency", latency_json(all)}};
}

}  // namespace dh::bench
