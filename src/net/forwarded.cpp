#include "net/forwarded.hpp"

#include <algorithm>
#include <charconv>

namespace dh::net {

namespace ip = boost::asio::ip;

namespace {

ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<ip::address> address_of(std::string_view text) {
  boost::system::error_code ec;
  const auto a = ip::make_address(std::string(trimmed(text)), ec);
  if (ec) return std::nullopt;
  return unmapped(a);
}

bool trusted_by(const ip::address& a, const std::vector<address_range>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(), [&](const address_range& r) { return r.contains(a); });
}

// The hops of every X-Forwarded-For header, left to right, as the proxies appended them.
std::vector<std::string_view> hops_of(const std::vector<std::string_view>& headers) {
  std::vector<std::string_view> hops;
  for (auto header : headers)
    for (std::size_t from = 0; from <= header.size();) {
      const auto comma = std::min(header.find(',', from), header.size());
      hops.push_back(header.substr(from, comma - from));
      from = comma + 1;
    }
  return hops;
}

}  // namespace

bool address_range::contains(const ip::address& candidate) const {
  const auto a = unmapped(candidate);
  if (a.is_v4() != network.is_v4()) return false;
  const auto bytes_of = [](const ip::address& x) {
    std::vector<unsigned char> out;
    if (x.is_v4()) {
      const auto b = x.to_v4().to_bytes();
      out.assign(b.begin(), b.end());
    } else {
      const auto b = x.to_v6().to_bytes();
      out.assign(b.begin(), b.end());
    }
    return out;
  };
  const auto want = bytes_of(network), have = bytes_of(a);
  unsigned left = prefix;
  for (std::size_t i = 0; i < want.size() && left > 0; ++i) {
    const unsigned bits = std::min(left, 8u);
    const auto mask = static_cast<unsigned char>(0xFFu << (8 - bits));
    if ((want[i] & mask) != (have[i] & mask)) return false;
    left -= bits;
  }
  return true;
}

std::optional<address_range> parse_address_range(std::string_view text) {
  const auto slash = text.find('/');
  const auto network = address_of(text.substr(0, slash));
  if (!network || text.substr(0, slash) != trimmed(text.substr(0, slash))) return std::nullopt;
  const unsigned width = network->is_v4() ? 32 : 128;
  if (slash == std::string_view::npos) return address_range{*network, width};
  const auto digits = text.substr(slash + 1);
  unsigned prefix = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || prefix > width) return std::nullopt;
  return address_range{*network, prefix};
}

ip::address client_address(const ip::address& peer, const std::vector<std::string_view>& forwarded_for,
                           std::string_view real_ip, const std::vector<address_range>& trusted) {
  auto client = unmapped(peer);
  if (!trusted_by(client, trusted)) return client;
  if (forwarded_for.empty()) {
    if (auto a = real_ip.empty() ? std::nullopt : address_of(real_ip)) return *a;
    return client;
  }
  const auto hops = hops_of(forwarded_for);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const auto a = address_of(*hop);
    if (!a) return client;
    client = *a;
    if (!trusted_by(client, trusted)) return client;
  }
  return client;
}

}  // namespace dh::net
