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

// Whether the first `prefix` bits of two addresses' bytes agree; no allocation, as this runs for
// every request that a proxy may have sent.
template <class Bytes>
bool same_prefix(const Bytes& want, const Bytes& have, unsigned prefix) {
  for (std::size_t i = 0; i < want.size() && prefix > 0; ++i) {
    const unsigned bits = std::min(prefix, 8u);
    const auto mask = static_cast<unsigned char>(0xFFu << (8 - bits));
    if ((want[i] & mask) != (have[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

}  // namespace

bool address_range::contains(const ip::address& candidate) const {
  const auto a = unmapped(candidate);
  if (a.is_v4() != network.is_v4()) return false;
  if (a.is_v4()) return same_prefix(network.to_v4().to_bytes(), a.to_v4().to_bytes(), prefix);
  return same_prefix(network.to_v6().to_bytes(), a.to_v6().to_bytes(), prefix);
}

bool is_trusted(const ip::address& a, const std::vector<address_range>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(), [&](const address_range& r) { return r.contains(a); });
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

address_ranges_parsed parse_address_ranges(std::string_view list) {
  address_ranges_parsed out;
  for (std::size_t from = 0; from <= list.size();) {
    const auto comma = std::min(list.find(',', from), list.size());
    const auto item = trimmed(list.substr(from, comma - from));
    from = comma + 1;
    auto range = parse_address_range(item);
    if (!range) {
      out.bad_item = std::string(item);
      break;
    }
    out.ranges.push_back(*range);
  }
  return out;
}

ip::address forwarded_client(const ip::address& proxy, const std::vector<std::string_view>& forwarded_for,
                             std::string_view real_ip, const std::vector<address_range>& trusted) {
  auto client = unmapped(proxy);
  if (forwarded_for.empty()) {
    if (auto a = real_ip.empty() ? std::nullopt : address_of(real_ip)) return *a;
    return client;
  }
  const auto hops = hops_of(forwarded_for);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const auto a = address_of(*hop);
    if (!a) return client;
    client = *a;
    if (!is_trusted(client, trusted)) return client;
  }
  return client;
}

}  // namespace dh::net
