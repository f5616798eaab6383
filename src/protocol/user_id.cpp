#include "protocol/user_id.hpp"

#include <charconv>
#include <cstdint>

namespace dh::protocol {
namespace {

constexpr std::uint64_t max_json_integer = (std::uint64_t{1} << 53) - 1;

bool is_id_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::optional<std::uint64_t> canonical_integer(std::string_view id) noexcept {
  if (id.empty() || id.size() > 16) return std::nullopt;
  if (id.size() > 1 && id.front() == '0') return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
  if (ec != std::errc{} || end != id.data() + id.size() || n > max_json_integer) return std::nullopt;
  return n;
}

}  // namespace

bool is_valid_user_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!is_id_char(c)) return false;
  return true;
}

boost::json::value user_id_to_json(std::string_view id) {
  if (auto n = canonical_integer(id)) return boost::json::value(*n);
  return boost::json::value(boost::json::string_view(id.data(), id.size()));
}

std::optional<std::string> user_id_from_json(const boost::json::value& v) {
  if (const auto* s = v.if_string()) return std::string(s->data(), s->size());
  if (const auto* i = v.if_int64()) {
    if (*i < 0) return std::nullopt;
    return std::to_string(*i);
  }
  if (const auto* u = v.if_uint64()) return std::to_string(*u);
  return std::nullopt;
}

}  // namespace dh::protocol
