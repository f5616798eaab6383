// net_forwarded_test.cpp — --trust-proxy: X-Forwarded-For names the client for limits and logs
// only when the connection comes from a trusted proxy; a forged header from anyone else is ignored.
#include "net/forwarded.hpp"
#include "support/sessions.hpp"

#include <doctest/doctest.h>

namespace net_forwarded_test {  // unity builds compile several test files as one unit

using namespace dh;
using namespace dh::test;
namespace ip = boost::asio::ip;

namespace {

std::vector<net::address_range> ranges(std::initializer_list<const char*> texts) {
  std::vector<net::address_range> out;
  for (const auto* t : texts) out.push_back(net::parse_address_range(t).value());
  return out;
}

// As http_session decides it: the peer itself, unless it is a trusted proxy.
std::string client(const char* peer, std::vector<std::string_view> forwarded_for, std::string_view real_ip = {}) {
  const auto address = ip::make_address(peer);
  const auto trusted = ranges({"10.0.0.0/8", "::1"});
  if (!net::is_trusted(address, trusted)) return address.to_string();
  return net::forwarded_client(address, forwarded_for, real_ip, trusted).to_string();
}

std::string http_request(const std::string& target, const std::string& forwarded_for) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + forwarded_for + "\r\nConnection: close\r\n\r\n";
}

}  // namespace

TEST_CASE("--trust-proxy ranges: addresses and CIDR blocks, IPv4 and IPv6") {
  CHECK(net::parse_address_range("10.0.0.0/8")->contains(ip::make_address("10.255.0.1")));
  CHECK_FALSE(net::parse_address_range("10.0.0.0/8")->contains(ip::make_address("11.0.0.1")));
  CHECK(net::parse_address_range("127.0.0.1")->contains(ip::make_address("127.0.0.1")));
  CHECK_FALSE(net::parse_address_range("127.0.0.1")->contains(ip::make_address("127.0.0.2")));
  CHECK(net::parse_address_range("192.168.1.128/25")->contains(ip::make_address("192.168.1.200")));
  CHECK_FALSE(net::parse_address_range("192.168.1.128/25")->contains(ip::make_address("192.168.1.100")));
  CHECK(net::parse_address_range("fd00::/8")->contains(ip::make_address("fd12::1")));
  CHECK(net::parse_address_range("0.0.0.0/0")->contains(ip::make_address("8.8.8.8")));
  CHECK_FALSE(net::parse_address_range("0.0.0.0/0")->contains(ip::make_address("::1")));  // families apart
  CHECK(net::parse_address_range("10.0.0.0/8")->contains(ip::make_address("::ffff:10.1.2.3")));  // mapped counts as v4
  for (const auto* bad : {"", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/8x", "proxy", " 10.0.0.1", "10.0.0.0/-1"})
    CHECK_MESSAGE(!net::parse_address_range(bad), bad);
}

TEST_CASE("the client behind trusted proxies is the right-most untrusted hop") {
  CHECK(client("203.0.113.9", {"198.51.100.1"}) == "203.0.113.9");                 // not a proxy: its header is ignored
  CHECK(client("10.0.0.1", {"198.51.100.1"}) == "198.51.100.1");                   // one trusted proxy
  CHECK(client("10.0.0.1", {"198.51.100.1, 10.0.0.2"}) == "198.51.100.1");         // two, both trusted
  CHECK(client("10.0.0.1", {"6.6.6.6, 198.51.100.1"}) == "198.51.100.1");          // the client's own forgery stays left
  CHECK(client("10.0.0.1", {"6.6.6.6", "198.51.100.1"}) == "198.51.100.1");        // several headers are one list
  CHECK(client("10.0.0.1", {"198.51.100.1, garbage"}) == "10.0.0.1");              // unreadable: the proxy itself
  CHECK(client("10.0.0.1", {"10.0.0.3"}) == "10.0.0.3");                           // all trusted: the left-most
  CHECK(client("10.0.0.1", {}, "198.51.100.2") == "198.51.100.2");                 // X-Real-IP without X-Forwarded-For
  CHECK(client("10.0.0.1", {}) == "10.0.0.1");                                     // nothing forwarded
  CHECK(client("::1", {"2001:db8::7"}) == "2001:db8::7");
  CHECK(client("::ffff:10.0.0.1", {"198.51.100.1"}) == "198.51.100.1");
}

TEST_CASE("behind a trusted proxy the forwarded address is logged and its upgrades rate-limited; a forged one is ignored") {
  auto settings = default_settings();
  settings.trusted_proxies = ranges({"127.0.0.3"});
  settings.address_limit.per_second = 0.01;  // no refill within the test, however slow the machine
  settings.address_limit.burst = 2;
  test_server srv(settings);

  // Through the proxy, each upgrade is a client's new connection: the third of one client is over
  // its rate, another client of the same proxy has its own. Plain requests through the proxy
  // (ingest, say) are not new connections and never count.
  auto upgrade_via = [&](const std::string& from, const std::string& client) {
    ws_client c;
    int status = 0;
    c.connect(srv.port(), srv.ws_target("u" + client, make_token("u" + client)), {{"X-Forwarded-For", client}}, &status, from);
    return status;
  };
  for (int i = 0; i < 5; ++i) CHECK(raw_exchange(srv.port(), http_request("/health", "198.51.100.7"), "127.0.0.3").starts_with("HTTP/1.1 200"));
  CHECK(upgrade_via("127.0.0.3", "198.51.100.7") == 101);
  CHECK(upgrade_via("127.0.0.3", "198.51.100.7") == 101);
  CHECK(upgrade_via("127.0.0.3", "198.51.100.7") == 429);
  CHECK(upgrade_via("127.0.0.3", "198.51.100.8") == 101);
  // Anyone else's X-Forwarded-For changes nothing: 127.0.0.5 is limited as itself, per connection.
  CHECK(raw_exchange(srv.port(), http_request("/health", "198.51.100.9"), "127.0.0.5").starts_with("HTTP/1.1 200"));
  CHECK(raw_exchange(srv.port(), http_request("/health", "198.51.100.10"), "127.0.0.5").starts_with("HTTP/1.1 200"));
  CHECK(raw_exchange(srv.port(), http_request("/health", "198.51.100.11"), "127.0.0.5").starts_with("HTTP/1.1 429"));

  ws_client proxied, forged;
  REQUIRE(proxied.connect(srv.port(), srv.ws_target("p1", make_token("p1")), {{"X-Forwarded-For", "198.51.100.20"}}, nullptr,
                          "127.0.0.3"));
  CHECK(type_of(proxied.read_json()) == "connection_success");
  REQUIRE(forged.connect(srv.port(), srv.ws_target("p2", make_token("p2")), {{"X-Forwarded-For", "198.51.100.21"}}, nullptr,
                         "127.0.0.6"));
  CHECK(type_of(forged.read_json()) == "connection_success");
  const auto log = srv.log_text();
  CHECK(log.find("user=p1 opened from 198.51.100.20 via 127.0.0.3:") != std::string::npos);
  CHECK(log.find("user=p2 opened from 127.0.0.6:") != std::string::npos);
  CHECK(log.find("198.51.100.21") == std::string::npos);
}

}  // namespace net_forwarded_test
