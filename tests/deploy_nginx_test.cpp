// deploy_nginx_test.cpp — the shipped nginx configuration (deploy/nginx/dashboard-hub.conf) in front
// of two instances of the binary on one redis-server, all real and on loopback. Its only changes
// are the ports and a short proxy_read_timeout. A client connects through nginx, gets its updates,
// outlives an idle period longer than that timeout thanks to the server's pings, and the servers
// see its own address (logs, per-address limit); the same header sent straight to an instance by
// anyone else is ignored.
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/sessions.hpp"
#include "support/sse_client.hpp"
#include "support/paths.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace dh::test;
using namespace std::chrono_literals;

namespace {

const std::string binary = dh::test::binary_path;
const std::filesystem::path source_dir = dh::test::source_dir;

std::uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replaces the one occurrence of `what`; the shipped file must still have it.
void replace_once(std::string& text, const std::string& what, const std::string& with) {
  const auto at = text.find(what);
  REQUIRE_MESSAGE(at != std::string::npos, "the shipped nginx config has no '" << what << "'");
  CHECK_MESSAGE(text.find(what, at + what.size()) == std::string::npos, "'" << what << "' twice");
  text.replace(at, what.size(), with);
}

// Replaces each of the `count` occurrences of `what`.
void replace_each(std::string& text, const std::string& what, const std::string& with, int count) {
  int found = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()), ++found)
    text.replace(at, what.size(), with);
  CHECK_MESSAGE(found == count, "the shipped nginx config has " << found << " of '" << what << "', not " << count);
}

std::uint16_t port_from_banner(const std::string& line) {
  REQUIRE(line.starts_with("dashboard-hub listening on "));
  return static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
}

// Polls until `target` through `port` answers 200 (10 s at most).
bool answers(std::uint16_t port, const std::string& target) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (http_get(port, target).status == 200) return true;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(10ms);  // the poll's interval; the answer decides
  }
  return false;
}

struct instance {
  std::filesystem::path log;
  std::unique_ptr<child_process> process;
  std::uint16_t port = 0;
};

struct nginx_fixture {
  std::filesystem::path dir;
  redis_server redis;
  std::vector<instance> instances;
  std::unique_ptr<child_process> nginx;
  std::uint16_t port = 0;

  nginx_fixture() {
    std::random_device random;
    dir = std::filesystem::temp_directory_path() / ("dh-nginx-" + std::to_string(random()));
    std::filesystem::create_directories(dir);
    const auto prefix = "nginx-test-" + std::to_string(random()) + ":";
    for (int i = 0; i < 2; ++i) {
      instance in;
      in.log = dir / ("instance" + std::to_string(i) + ".log");
      in.process = std::make_unique<child_process>(
          std::vector<std::string>{"/usr/bin/setpriv", "--pdeathsig", "KILL", "--", binary, "--port", "0", "--bind", "127.0.0.1",
                                   "--redis", redis.url(), "--redis-prefix", prefix, "--trust-proxy", "127.0.0.1",
                                   "--ping-interval", "1s", "--connection-rate-per-address", "0.01"},
          std::map<std::string, std::string>{{"DASHBOARD_JWT_SECRET", test_secret}, {"DASHBOARD_INGEST_KEY", test_ingest_key}},
          in.log.string());
      in.port = port_from_banner(in.process->read_line().value_or(""));
      REQUIRE(answers(in.port, "/ready"));
      instances.push_back(std::move(in));
    }
    port = free_port();
    auto site = file_text(source_dir / "deploy/nginx/dashboard-hub.conf");
    replace_once(site, "server 127.0.0.1:8001 ", "server 127.0.0.1:" + std::to_string(instances[0].port) + " ");
    replace_once(site, "server 127.0.0.1:8002 ", "server 127.0.0.1:" + std::to_string(instances[1].port) + " ");
    replace_once(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(port) + ";");
    replace_each(site, "proxy_read_timeout 75s;", "proxy_read_timeout 2s;", 2);  // WebSocket and SSE
    std::ofstream(dir / "dashboard-hub.conf") << site;
    const auto d = dir.string();
    std::ofstream(dir / "nginx.conf") << "daemon off;\nmaster_process off;\nworker_processes 1;\npid " << d
                                      << "/nginx.pid;\nerror_log " << d << "/error.log info;\n"
                                      << "events { worker_connections 256; }\n"
                                      << "http {\n  access_log " << d << "/access.log;\n"
                                      << "  client_body_temp_path " << d << "/body;\n  proxy_temp_path " << d << "/proxy;\n"
                                      << "  fastcgi_temp_path " << d << "/fastcgi;\n  uwsgi_temp_path " << d << "/uwsgi;\n"
                                      << "  scgi_temp_path " << d << "/scgi;\n  include " << d << "/dashboard-hub.conf;\n}\n";
    const auto check = run_binary({"/usr/sbin/nginx", "-t", "-q", "-p", d, "-e", d + "/error.log", "-c", d + "/nginx.conf"});
    REQUIRE_MESSAGE(check.exit_code == 0, check.err);
    nginx = std::make_unique<child_process>(std::vector<std::string>{"/usr/bin/setpriv", "--pdeathsig", "KILL", "--",
                                                                     "/usr/sbin/nginx", "-p", d, "-e", d + "/error.log",
                                                                     "-c", d + "/nginx.conf"});
    REQUIRE(answers(port, "/health"));
  }
  ~nginx_fixture() {
    if (nginx) {
      nginx->signal(SIGTERM);
      nginx->wait();
    }
    for (auto& in : instances) {
      in.process->signal(SIGTERM);
      in.process->wait();
    }
    std::filesystem::remove_all(dir);
  }
  std::string logs() const {
    std::string all;
    for (const auto& in : instances) all += file_text(in.log);
    return all;
  }
};

}  // namespace

TEST_CASE("through the shipped nginx config: updates, pings past the read timeout, the client's own address") {
  nginx_fixture f;

  // What the client sent and got through nginx, for the transcript printed at the end.
  std::vector<std::string> transcript;
  auto got = [&](const std::vector<json::object>& messages) {
    for (const auto& m : messages) transcript.push_back("<- " + json::serialize(m));
    return messages;
  };
  ws_client c;
  REQUIRE(c.connect(f.port, "/ws/dashboard/n1?token=" + make_token("n1"), {}, nullptr, "127.0.0.2"));
  transcript.push_back("-> GET /ws/dashboard/n1?token=… (from 127.0.0.2, through nginx)");
  REQUIRE(type_of(got({c.read_json()}).back()) == "connection_success");
  transcript.push_back(R"(-> {"type":"subscribe_dashboard","payload":{"userId":"n1"}})");
  const auto after_subscribed = subscribe(c, {{"userId", "n1"}});  // takes the "subscribed" reply
  transcript.push_back(R"(<- {"type":"subscribed",...})");
  got(after_subscribed);
  // Ingest through nginx too; the instance that takes it need not be the client's (Redis carries it).
  const auto body = json::serialize(json::array{task_event("created", "n1", 1)});
  REQUIRE(http_post(f.port, "/api/v1/events", body, {{"Authorization", std::string("Bearer ") + test_ingest_key}}).status == 202);
  transcript.push_back("   POST /api/v1/events through nginx: 202");
  got(read_until(c, [](const json::object& m) { return type_of(m) == "task_update"; }));
  got(read_until(c, [](const json::object& m) { return type_of(m) == "dashboard_update"; }));  // its new counts

  // Idle for longer than nginx's 2 s read timeout: the server's pings (every 1 s) keep it open. The
  // client reads meanwhile, so it answers them, as browsers do.
  CHECK_FALSE(c.read_text(3500ms).has_value());
  transcript.push_back("   (3.5 s of silence; nginx's proxy_read_timeout is 2 s; the server pings every 1 s)");
  REQUIRE(c.is_open());
  c.send_ping();
  transcript.push_back(R"(-> {"type":"ping",...})");
  CHECK(type_of(got(read_until(c, [](const json::object& m) { return type_of(m) == "pong"; })).back()) == "pong");
  REQUIRE(http_post(f.port, "/api/v1/events", json::serialize(json::array{task_event("created", "n1", 2)}),
                    {{"Authorization", std::string("Bearer ") + test_ingest_key}})
              .status == 202);
  CHECK(read_until(c, [](const json::object& m) { return type_of(m) == "task_update"; }).back().at("payload").at("taskId") ==
        json::value(2));

  // The per-address limit counts the client behind nginx: one new connection per instance for a
  // burst at this rate, so of three upgrades from 127.0.0.4 at least one is refused, while
  // 127.0.0.6, through the same nginx, is let in.
  int refused = 0;
  std::vector<std::unique_ptr<ws_client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<ws_client>());
    int status = 0;
    held.back()->connect(f.port, "/ws/dashboard/n2?token=" + make_token("n2"), {}, &status, "127.0.0.4");
    refused += status == 429 ? 1 : 0;
  }
  CHECK(refused >= 1);
  ws_client other;
  int other_status = 0;
  REQUIRE(other.connect(f.port, "/ws/dashboard/n3?token=" + make_token("n3"), {}, &other_status, "127.0.0.6"));
  CHECK(other_status == 101);
  // The server logs "opened" before it writes connection_success: once that is read, the line is there.
  REQUIRE(type_of(other.read_json()) == "connection_success");

  // Straight to an instance, an X-Forwarded-For from an untrusted peer is ignored.
  ws_client forged;
  REQUIRE(forged.connect(f.instances[0].port, "/ws/dashboard/n4?token=" + make_token("n4"),
                         {{"X-Forwarded-For", "198.51.100.99"}}, nullptr, "127.0.0.5"));
  REQUIRE(type_of(forged.read_json()) == "connection_success");

  const auto logs = f.logs();
  CHECK(logs.find("user=n1 opened from 127.0.0.2 via 127.0.0.1:") != std::string::npos);
  CHECK(logs.find("user=n3 opened from 127.0.0.6 via 127.0.0.1:") != std::string::npos);
  CHECK(logs.find("user=n4 opened from 127.0.0.5:") != std::string::npos);
  CHECK(logs.find("198.51.100.99") == std::string::npos);
  CHECK(logs.find("eyJ") == std::string::npos);  // the token in the query string never reaches a log
  std::string lines;
  for (const auto& line : transcript) lines += line + "\n";
  MESSAGE("the client's session through nginx:\n" << lines << "the instances' log:\n" << logs);
}

TEST_CASE("through the shipped nginx config: an SSE stream gets its events at once and outlives the read timeout") {
  nginx_fixture f;
  sse_client c;
  REQUIRE(c.connect(f.port, "/sse/dashboard/n5?token=" + make_token("n5"), {}, "127.0.0.7") == 200);
  CHECK(c.header("Content-Type") == "text/event-stream");
  CHECK(type_of(c.next_json()) == "connection_success");
  CHECK(type_of(c.next_json()) == "dashboard_update");
  const auto post = [&](int task) {
    return http_post(f.port, "/api/v1/events", json::serialize(json::array{task_event("created", "n5", task)}),
                     {{"Authorization", std::string("Bearer ") + test_ingest_key}})
        .status;
  };
  REQUIRE(post(1) == 202);
  // Unbuffered: the event arrives while the stream stays open, not when a buffer fills.
  auto update = c.next_json();
  CHECK(type_of(update) == "task_update");
  CHECK(update.at("payload").at("taskId") == json::value(1));

  // Longer than nginx's 2 s read timeout: the heartbeats (every 1 s) keep the stream open.
  const auto before = c.comments();
  while (type_of(c.next_json()) != "dashboard_update") {
  }
  CHECK_FALSE(c.next(3500ms).has_value());
  CHECK(c.comments() > before);
  REQUIRE(post(2) == 202);
  auto later = c.next_json();
  CHECK(type_of(later) == "task_update");
  CHECK(later.at("payload").at("taskId") == json::value(2));

  const auto logs = f.logs();
  CHECK(logs.find("user=n5 opened from 127.0.0.7 via 127.0.0.1:") != std::string::npos);
  CHECK(logs.find("transport=sse") != std::string::npos);
  CHECK(logs.find("eyJ") == std::string::npos);
}
