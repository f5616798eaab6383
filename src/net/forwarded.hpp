// forwarded.hpp — who the client is behind a reverse proxy. X-Forwarded-For (or X-Real-IP) names
// the client only when the connection comes from a proxy that --trust-proxy names; anyone else's is ignored.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dh::net {

// An address block, "10.0.0.0/8" or "::1/128"; a bare address is the block of just itself.
struct address_range {
  boost::asio::ip::address network;
  unsigned prefix = 0;

  bool contains(const boost::asio::ip::address& a) const;
};

std::optional<address_range> parse_address_range(std::string_view text);

// A comma-separated list of ranges, each item trimmed: the ranges, or the first item that is not one.
struct address_ranges_parsed {
  std::vector<address_range> ranges;
  std::optional<std::string> bad_item;
};
address_ranges_parsed parse_address_ranges(std::string_view list);

// Whether `a` (IPv4-mapped counts as IPv4) lies in one of the ranges.
bool is_trusted(const boost::asio::ip::address& a, const std::vector<address_range>& trusted);

// The client a trusted proxy names: the right-most address of the X-Forwarded-For hops (every
// header, in order) that is not itself a trusted proxy; X-Real-IP when there is no
// X-Forwarded-For. A hop that is not an address stops the walk: what is left of it cannot be told
// from a forgery, so the last trusted hop is the client. The proxy itself when it names none.
boost::asio::ip::address forwarded_client(const boost::asio::ip::address& proxy,
                                          const std::vector<std::string_view>& forwarded_for, std::string_view real_ip,
                                          const std::vector<address_range>& trusted);

}  // namespace dh::net
