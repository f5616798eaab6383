// dashboard_bench.cpp — the load generator's command line: runs one scenario against a server
// on loopback and prints its figures as one JSON line, and with --json into a file too.
// The scenarios themselves live in load.cpp.
#include "load.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace json = boost::json;
namespace po = boost::program_options;

int main(int argc, char** argv) {
  dh::bench::load_options o;
  std::string scenario, json_path, label = "dashboard-hub", transport = "ws", client_ports;
  po::options_description d("dashboard-bench SCENARIO [options]\nscenarios: latency, handshake, hold, fanout, slow");
  d.add_options()("help", "print this help")("scenario", po::value(&scenario))(
      "host", po::value(&o.host)->default_value(o.host), "server address (loopback only)")(
      "port", po::value(&o.port)->default_value(o.port), "server port")(
      "ingest-port", po::value(&o.ingest_port), "port for POST /api/v1/events when it differs")(
      "client-ports", po::value(&client_ports), "fanout/slow: comma-separated ports; user n connects to the n-th modulo their count")(
      "jwt-secret", po::value(&o.jwt_secret), "the server's HS256 secret")(
      "ingest-key", po::value(&o.ingest_key), "the server's ingest key")(
      "user", po::value(&o.user)->default_value(o.user), "latency: user id to subscribe as")(
      "count", po::value(&o.count)->default_value(o.count), "latency: events to send")(
      "server-pid", po::value(&o.server_pid), "hold: the server's pid, to read its memory and CPU")(
      "connections", po::value(&o.connections)->default_value(o.connections), "handshake/hold: connections")(
      "concurrency", po::value(&o.concurrency)->default_value(o.concurrency), "connection attempts in flight")(
      "users", po::value(&o.users)->default_value(o.users), "fanout/slow: users")(
      "per-user", po::value(&o.per_user)->default_value(o.per_user), "fanout/slow: connections per user")(
      "rate", po::value(&o.rate)->default_value(o.rate), "fanout/slow: events posted per second")(
      "batch", po::value(&o.batch)->default_value(o.batch), "fanout/slow: events per POST")(
      "posters", po::value(&o.posters)->default_value(o.posters), "fanout/slow: concurrent posting connections")(
      "seconds", po::value(&o.seconds)->default_value(o.seconds), "fanout/slow: posting time")(
      "idle-seconds", po::value(&o.idle_seconds)->default_value(o.idle_seconds), "hold: CPU sampling time")(
      "slow-share", po::value(&o.slow_share)->default_value(o.slow_share), "slow: share of clients that never read")(
      "sources", po::value(&o.sources)->default_value(o.sources), "loopback source addresses 127.0.N.2…")(
      "source-net", po::value(&o.source_net)->default_value(o.source_net), "N, the third octet of the source addresses")(
      "first-user", po::value(&o.first_user)->default_value(o.first_user), "hold: number of the first user (u<N>)")(
      "transport", po::value(&transport)->default_value(transport),
      "handshake/hold/fanout/slow: ws, or sse (GET /sse/dashboard/{user}, dashboard-hub only)")(
      "label", po::value(&label)->default_value(label), "server name in the output")(
      "json", po::value(&json_path), "write the figures to this file");
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
    if (!boost::asio::ip::make_address(o.host).is_loopback()) throw std::runtime_error("--host must be a loopback address");
    if (o.count < 1 || o.count > 1'000'000) throw std::runtime_error("--count must be 1..1000000");
    if (o.connections < 1 || o.connections > 200'000) throw std::runtime_error("--connections must be 1..200000");
    if (o.seconds <= 0 || o.seconds > 600) throw std::runtime_error("--seconds must be in (0, 600]");
    if (o.source_net < 0 || o.source_net > 255) throw std::runtime_error("--source-net must be 0..255");
    if (transport == "sse") o.transport = dh::bench::transport_kind::sse;
    else if (transport != "ws") throw std::runtime_error("--transport must be ws or sse");
    for (std::size_t at = 0; at < client_ports.size();) {
      const auto comma = std::min(client_ports.find(',', at), client_ports.size());
      o.client_ports.push_back(static_cast<std::uint16_t>(std::stoul(client_ports.substr(at, comma - at))));
      at = comma + 1;
    }
    json::object result;
    if (scenario == "latency") result = dh::bench::run_latency(o);
    else if (scenario == "handshake") result = dh::bench::run_handshake(o);
    else if (scenario == "hold") result = dh::bench::run_hold(o);
    else if (scenario == "fanout") result = dh::bench::run_fanout(o, false);
    else if (scenario == "slow") result = dh::bench::run_fanout(o, true);
    else throw std::runtime_error("unknown scenario '" + scenario + "'");
    json::object out{{"scenario", scenario}, {"server", label}, {"result", result}};
    fmt::print("{}\n", json::serialize(out));
    if (!json_path.empty()) std::ofstream(json_path) << json::serialize(out) << "\n";
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dashboard-bench: {}\n", e.what());
    return 2;
  }
}
