// dashboard_bench.cpp — load and latency probes against a running dashboard-hub on loopback.
// Scenario `latency`: one subscribed session, events posted one at a time over a keep-alive
// connection; reports ingest-to-socket latency (POST sent → task_update read). Bounded by --count.
#include "protocol/jwt.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
namespace po = boost::program_options;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  std::string jwt_secret, ingest_key, user = "bench-1";
  int count = 200;
};

std::string mint(const options& o) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto token = dh::protocol::mint_token(dh::protocol::jwt_alg::hs256, o.jwt_secret,
                                        {{"sub", o.user}, {"iat", now}, {"exp", now + 3600}});
  if (!token) throw std::runtime_error(token.error().message);
  return *token;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int run_latency(const options& o) {
  asio::io_context ioc;
  const tcp::endpoint endpoint(asio::ip::make_address(o.host), o.port);
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(endpoint);
  ws.handshake(o.host, "/ws/dashboard/" + o.user + "?token=" + mint(o));
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
    const auto start = clock_type::now();
    http::write(ingest, req);
    http::response<http::string_body> res;
    http::read(ingest, ingest_buffer, res);
    if (res.result() != http::status::accepted) throw std::runtime_error("ingest refused: " + res.body());
    while (read_type() != "task_update") {
    }
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
  }
  fmt::print("scenario latency: {} events, one at a time, one subscriber\n", latencies_ms.size());
  fmt::print("ingest-to-socket ms: p50 {:.2f}  p90 {:.2f}  p99 {:.2f}  max {:.2f}\n", percentile(latencies_ms, 0.50),
             percentile(latencies_ms, 0.90), percentile(latencies_ms, 0.99),
             *std::max_element(latencies_ms.begin(), latencies_ms.end()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::string scenario;
  po::options_description d("dashboard-bench SCENARIO [options]  (scenarios: latency)");
  d.add_options()("help", "print this help")("scenario", po::value(&scenario))(
      "host", po::value(&o.host)->default_value(o.host), "server address (loopback only)")(
      "port", po::value(&o.port)->default_value(o.port), "server port")(
      "jwt-secret", po::value(&o.jwt_secret), "the server's HS256 secret")(
      "ingest-key", po::value(&o.ingest_key), "the server's ingest key")(
      "user", po::value(&o.user)->default_value(o.user), "user id to subscribe as")(
      "count", po::value(&o.count)->default_value(o.count), "events to send");
  po::positional_options_description positional;
  positional.add("scenario", 1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(d).positional(positional).run(), vm);
    po::notify(vm);
    if (vm.count("help") || scenario.empty()) {
      fmt::print("{}", (std::ostringstream() << d).str());
      return scenario.empty() ? 2 : 0;
    }
    if (!asio::ip::make_address(o.host).is_loopback()) throw std::runtime_error("--host must be a loopback address");
    if (o.count < 1 || o.count > 1'000'000) throw std::runtime_error("--count must be 1..1000000");
    if (scenario == "latency") return run_latency(o);
    throw std::runtime_error("unknown scenario '" + scenario + "'");
  } catch (const std::exception& e) {
    fmt::print(stderr, "dashboard-bench: {}\n", e.what());
    return 2;
  }
}
