// load.hpp — the load generator's scenarios against any server speaking the contract subset
// (JWT connect, native-shape ingest, per-user task_update fan-out). Loopback only, bounded in
// count and time; each returns its figures as JSON. Clients connect over WebSocket or, for
// dashboard-hub, over its Server-Sent Events stream.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dh::bench {

// How the clients of handshake, hold and fanout/slow connect: `GET /ws/dashboard/{user}`, or
// `GET /sse/dashboard/{user}`, a stream subscribed from the start that the client only reads.
enum class transport_kind { ws, sse };

struct load_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  std::uint16_t ingest_port = 0;  // 0: the same port (the Python baseline serves ingest apart)
  // fanout/slow: user n's clients connect to client_ports[n % size] (several instances, each
  // with its own users); empty: `port`.
  std::vector<std::uint16_t> client_ports;
  std::string jwt_secret;
  std::string ingest_key;
  int server_pid = 0;          // for RSS and CPU readings (hold)
  int connections = 1000;      // handshake: total; hold: held; fanout: users × per_user
  int concurrency = 64;        // connection attempts in flight
  int users = 100;             // fanout
  int per_user = 2;            // fanout: connections per user
  int rate = 10000;            // fanout: events per second posted
  int batch = 50;              // fanout: events per POST
  int posters = 2;             // fanout: concurrent keep-alive connections posting (producers)
  double seconds = 10;         // fanout/slow: posting time
  double idle_seconds = 5;     // hold: CPU sampling time
  double slow_share = 0.1;     // slow: share of connections that never read
  int sources = 8;             // loopback source addresses 127.0.<source_net>.2… to pass the ephemeral-port limit
  int first_user = 0;          // hold: users are u<first_user>…, so several generators use distinct users
  int source_net = 0;          // third octet of those addresses: a fresh one per run avoids the last run's TIME_WAITs
  int count = 200;             // latency: events sent one at a time
  std::string user = "bench-1";  // latency: the subscriber
  transport_kind transport = transport_kind::ws;  // handshake, hold, fanout/slow (latency: ws only)
};

boost::json::object run_latency(const load_options& o);

boost::json::object run_handshake(const load_options& o);
boost::json::object run_hold(const load_options& o);
boost::json::object run_fanout(const load_options& o, bool with_slow_clients);

}  // namespace dh::bench
