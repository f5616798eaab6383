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
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <variant>
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
asio::awaitable<tcp::socket> connect_from_source(const load_options& o, int n, std::uint16_t port) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  socket.open(tcp::v4());
  socket.set_option(tcp::socket::reuse_address(true));
  const auto source = asio::ip::make_address_v4(fmt::format("127.0.{}.{}", o.source_net, 2 + n % std::max(1, o.sources)));
  socket.bind({source, 0});
  co_await socket.async_connect({asio::ip::make_address(o.host), port}, asio::use_awaitable);
  socket.set_option(tcp::no_delay(true));
  co_return socket;
}

// An SSE stream as its reader sees it: the socket and what was read of it. The bytes before
// `consumed` are blocks already handed out; they are dropped only when the socket is read again,
// so a burst of events costs one move of its unfinished tail, not one move per event.
struct sse_stream {
  explicit sse_stream(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::string bytes;
  std::size_t consumed = 0;
};

// Per read: a burst of events takes few reads, and 15,000 held streams stay within tens of MB.
constexpr std::size_t sse_read_size = 4096;

// The next block of a stream up to `delimiter` (the response head's "\r\n\r\n", an event's "\n\n"),
// without it; valid until the next read of `s`. Throws when the stream ends first.
asio::awaitable<std::string_view> read_block(sse_stream& s, std::string_view delimiter) {
  for (;;) {
    const auto end = s.bytes.find(delimiter, s.consumed);
    if (end != std::string::npos) {
      const std::string_view block(s.bytes.data() + s.consumed, end - s.consumed);
      s.consumed = end + delimiter.size();
      co_return block;
    }
    s.bytes.erase(0, s.consumed);
    s.consumed = 0;
    const auto kept = s.bytes.size();
    s.bytes.resize(kept + sse_read_size);
    auto [ec, n] = co_await s.socket.async_read_some(asio::buffer(s.bytes.data() + kept, sse_read_size), as_values);
    s.bytes.resize(kept + n);
    if (ec) throw boost::system::system_error(ec);
  }
}

// The text of an event's `data:` line: the same one-line JSON envelope a WebSocket message holds.
// Empty for a block without one: a comment (": heartbeat"), the `retry:` preamble.
std::string_view event_data(std::string_view block) {
  for (;;) {
    const auto eol = block.find('\n');
    auto line = block.substr(0, eol);
    if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (line.starts_with(' ')) line.remove_prefix(1);
      return line;
    }
    if (eol == std::string_view::npos) return {};
    block.remove_prefix(eol + 1);
  }
}

// Asks for the stream and reads the response head; the events follow in `s.bytes`. A refusal is
// a plain HTTP status (401, 404, 429, 503) with a JSON body, thrown as an error here.
asio::awaitable<void> request_stream(sse_stream& s, const std::string& host, const std::string& target) {
  const auto request = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", target, host);
  co_await asio::async_write(s.socket, asio::buffer(request), asio::use_awaitable);
  const auto head = co_await read_block(s, "\r\n\r\n");
  if (!head.starts_with("HTTP/1.1 200 ")) throw std::runtime_error("stream refused: " + std::string(head.substr(0, head.find('\r'))));
}

// One client connection, of the transport the options name. The scenarios only open it, read
// message texts and close it, so they hold no per-transport code of their own.
using client = std::variant<ws_stream, sse_stream>;

// Opens a client as `user`: a WebSocket handshake, or a stream request answered 200. Either way
// the first message to read is connection_success.
// The port user number `user` connects to.
std::uint16_t port_of_user(const load_options& o, int user) {
  if (o.client_ports.empty()) return o.port;
  return o.client_ports[static_cast<std::size_t>(user) % o.client_ports.size()];
}

asio::awaitable<std::unique_ptr<client>> open_client(const load_options& o, int n, const std::string& user,
                                                     const std::string& token, std::uint16_t port) {
  auto socket = co_await connect_from_source(o, n, port);
  if (o.transport == transport_kind::sse) {
    auto c = std::make_unique<client>(std::in_place_type<sse_stream>, std::move(socket));
    co_await request_stream(std::get<sse_stream>(*c), o.host, fmt::format("/sse/dashboard/{}?token={}", user, token));
    co_return c;
  }
  auto c = std::make_unique<client>(std::in_place_type<ws_stream>, std::move(socket));
  co_await std::get<ws_stream>(*c).async_handshake(o.host, fmt::format("/ws/dashboard/{}?token={}", user, token),
                                                   asio::use_awaitable);
  co_return c;
}

// The next message's JSON text: a WebSocket text message, or the data of the next SSE event
// (heartbeats skipped). Valid until the next read of `c`; `buffer` serves WebSocket only. Throws
// when the connection ends.
asio::awaitable<std::string_view> read_message(client& c, beast::flat_buffer& buffer) {
  if (auto* ws = std::get_if<ws_stream>(&c)) {
    buffer.clear();
    co_await ws->async_read(buffer, asio::use_awaitable);
    co_return std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size());
  }
  auto& stream = std::get<sse_stream>(c);
  for (;;) {
    const auto data = event_data(co_await read_block(stream, "\n\n"));
    if (!data.empty()) co_return data;
  }
}

// Closes at once, without a goodbye: the scenarios end their clients as a dropped network would.
void close_client(client& c) {
  if (auto* ws = std::get_if<ws_stream>(&c)) {
    beast::get_lowest_layer(*ws).close();
    return;
  }
  boost::system::error_code ignored;  // nothing to do about a socket that will not close
  std::get<sse_stream>(c).socket.close(ignored);
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

// Subscribes and waits for the first dashboard_update (servers send `subscribed` first). An SSE
// stream is subscribed from the start and takes nothing from the client: it only waits.
asio::awaitable<void> subscribe(client& c, beast::flat_buffer& buffer, const std::string& user) {
  if (auto* ws = std::get_if<ws_stream>(&c)) {
    const auto msg = json::serialize(json::object{{"type", "subscribe_dashboard"}, {"payload", {{"userId", user}}}});
    co_await ws->async_write(asio::buffer(msg), asio::use_awaitable);
  }
  for (;;) {
    const auto text = co_await read_message(c, buffer);
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
  if (o.transport != transport_kind::ws) throw std::runtime_error("latency runs over WebSocket only");
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
        auto c = co_await open_client(o, i, user_name(i), tokens[static_cast<std::size_t>(i)], o.port);
        co_await read_message(*c, buffer);  // connection_success
        latency.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - start).count()));
        close_client(*c);
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
  std::vector<std::unique_ptr<client>> held(static_cast<std::size_t>(o.connections));
  int next = 0, opened = 0, failed = 0;
  auto opener = [&]() -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    while (next < o.connections) {
      const int i = next++;
      try {
        const auto user = user_name(o.first_user + i / 5);  // five per user: the contract's per-user limit
        auto c = co_await open_client(o, i, user, mint(o, user), o.port);
        co_await read_message(*c, buffer);  // connection_success: the connection is established
        held[static_cast<std::size_t>(i)] = std::move(c);
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
  for (auto& c : held)
    if (c) close_client(*c);
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
    std::unique_ptr<client> conn;
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
        r.conn = co_await open_client(o, i, user, mint(o, user), port_of_user(o, r.user));
        co_await read_message(*r.conn, buffer);  // connection_success
        co_await subscribe(*r.conn, buffer, user);
        ++ready;
      } catch (const std::exception&) {
        ++failed;
      }
    }
  };
  for (int w = 0; w < std::min(o.concurrency, conns); ++w) asio::co_spawn(ioc, connector(w), asio::detached);
  ioc.run_for(std::chrono::seconds(120));
  ioc.restart();

  // What a receiver makes of one message, whichever transport brought it.
  auto tally = [](receiver& r, std::string_view text) {
    if (!has_type(text, "task_update")) return;
    const auto seq = field(text, R"("seq":)");
    const auto sent = field(text, R"("sentAt":)");
    if (seq < 0 || sent < 0) return;
    r.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, mono_ns() - sent) / 1000));
    if (static_cast<std::size_t>(seq) >= r.seen.size()) r.seen.resize(static_cast<std::size_t>(seq) + 1);
    if (r.seen[static_cast<std::size_t>(seq)]) ++r.duplicates;
    r.seen[static_cast<std::size_t>(seq)] = true;
    ++r.received;
  };
  auto reader = [&](receiver& r) -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    try {
      for (;;) tally(r, co_await read_message(*r.conn, buffer));
    } catch (const std::exception&) {
      // the server ended the connection: what it delivered is counted
    }
  };
  // Slow clients get no reader: they never read, on either transport.
  for (auto& r : receivers)
    if (r.conn && !r.slow) asio::co_spawn(ioc, reader(r), asio::detached);

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
    if (!r.conn || r.slow) continue;
    ++measured;
    all.merge(r.latency);
    received += r.received;
    duplicates += r.duplicates;
    const int expected = posted_per_user[static_cast<std::size_t>(r.user)];
    for (int s = 0; s < expected; ++s)
      if (static_cast<std::size_t>(s) >= r.seen.size() || !r.seen[static_cast<std::size_t>(s)]) ++lost;
  }
  for (auto& r : receivers)
    if (r.conn) close_client(*r.conn);
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
