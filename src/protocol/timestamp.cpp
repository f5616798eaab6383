#include "protocol/timestamp.hpp"

#include <fmt/format.h>

#include <charconv>

namespace dh::protocol {

using namespace std::chrono;

std::string format_timestamp(system_clock::time_point t) {
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                     hms.subseconds().count());
}

namespace {

bool read_int(std::string_view& s, std::size_t width, int& out) {
  if (s.size() < width) return false;
  for (std::size_t i = 0; i < width; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data(), s.data() + width, out);
  s.remove_prefix(width);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<system_clock::time_point> parse_timestamp(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_int(s, 4, y) || !expect(s, '-') || !read_int(s, 2, mo) || !expect(s, '-') ||
      !read_int(s, 2, d))
    return std::nullopt;
  if (s.empty() || (s.front() != 'T' && s.front() != 't' && s.front() != ' ')) return std::nullopt;
  s.remove_prefix(1);
  if (!read_int(s, 2, h) || !expect(s, ':') || !read_int(s, 2, mi) || !expect(s, ':') ||
      !read_int(s, 2, sec))
    return std::nullopt;
  milliseconds frac{0};
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    int digits = 0, value = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      if (digits < 3) value = value * 10 + (s.front() - '0');
      ++digits;
      s.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) value *= 10;
    frac = milliseconds{value};
  }
  minutes offset{0};
  if (s == "Z" || s == "z") {
    s.remove_prefix(1);
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    const int sign = s.front() == '+' ? 1 : -1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!read_int(s, 2, oh) || !expect(s, ':') || !read_int(s, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = minutes{sign * (oh * 60 + om)};
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Computed in milliseconds (±292 million years), then checked against what system_clock's
  // nanoseconds hold (1677 to 2262): a year such as 1013 or 9999 is refused, not overflowed.
  const sys_time<milliseconds> at = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + frac - offset;
  constexpr auto earliest = ceil<milliseconds>(system_clock::time_point::min());
  constexpr auto latest = floor<milliseconds>(system_clock::time_point::max());
  if (at < earliest || at > latest) return std::nullopt;
  return time_point_cast<system_clock::duration>(at);
}

}  // namespace dh::protocol
