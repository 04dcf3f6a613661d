#include "duration.h"

#include <cstdint>
#include <stdexcept>

namespace pgqrs::cli {

namespace {

constexpr std::int64_t kMaxSeconds = 100LL * 366 * 24 * 3600;  // ~100 years
constexpr int kMinYear = 1900;
constexpr int kMaxYear = 2200;

std::optional<std::int64_t> unit_seconds(char unit) noexcept {
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    case 'w':
      return 7 * 86400;
    default:
      return std::nullopt;
  }
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at text[i...] into `out` and advances i.
bool read_digits(std::string_view text, std::size_t& i, std::size_t n, int& out) noexcept {
  if (i + n > text.size()) return false;
  int value = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (!is_digit(text[i + k])) return false;
    value = value * 10 + (text[i + k] - '0');
  }
  out = value;
  i += n;
  return true;
}

bool expect(std::string_view text, std::size_t& i, char c) noexcept {
  if (i >= text.size() || text[i] != c) return false;
  ++i;
  return true;
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  bool first = true;
  while (i < text.size()) {
    if (!is_digit(text[i])) return std::nullopt;
    std::int64_t value = 0;
    while (i < text.size() && is_digit(text[i])) {
      value = value * 10 + (text[i] - '0');
      if (value > kMaxSeconds) return std::nullopt;
      ++i;
    }
    std::int64_t multiplier = 1;
    if (i < text.size()) {
      auto unit = unit_seconds(text[i]);
      if (!unit) return std::nullopt;
      multiplier = *unit;
      ++i;
    } else if (!first) {
      return std::nullopt;  // a number without unit is only allowed on its own
    }
    first = false;
    if (value > kMaxSeconds / multiplier) return std::nullopt;
    total += value * multiplier;
    if (total > kMaxSeconds) return std::nullopt;
  }
  return std::chrono::seconds(total);
}

std::string check_duration(const std::string& text) {
  if (parse_duration(text)) return {};
  return "invalid duration '" + text +
         "': use a number of seconds or a number with a unit s, m, h, d or w "
         "(e.g. 30, 30s, 5m, 2h, 7d, 1h30m)";
}

std::chrono::seconds parse_duration_or_throw(std::string_view text) {
  auto parsed = parse_duration(text);
  if (!parsed) throw std::invalid_argument(check_duration(std::string(text)));
  return *parsed;
}

std::optional<std::chrono::system_clock::time_point> parse_iso_time(
    std::string_view text) noexcept {
  using namespace std::chrono;
  std::size_t i = 0;
  int y = 0, mo = 0, d = 0;
  if (!read_digits(text, i, 4, y) || !expect(text, i, '-') || !read_digits(text, i, 2, mo) ||
      !expect(text, i, '-') || !read_digits(text, i, 2, d)) {
    return std::nullopt;
  }
  if (y < kMinYear || y > kMaxYear) return std::nullopt;  // keeps nanosecond time points valid
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  sys_time<nanoseconds> t = sys_days(ymd);
  if (i == text.size()) return time_point_cast<system_clock::duration>(t);

  if (text[i] != 'T' && text[i] != 't' && text[i] != ' ') return std::nullopt;
  ++i;
  int h = 0, mi = 0, s = 0;
  if (!read_digits(text, i, 2, h) || !expect(text, i, ':') || !read_digits(text, i, 2, mi)) {
    return std::nullopt;
  }
  if (i < text.size() && text[i] == ':') {
    ++i;
    if (!read_digits(text, i, 2, s)) return std::nullopt;
    if (i < text.size() && text[i] == '.') {
      ++i;
      std::int64_t nanos = 0;
      std::size_t digits = 0;
      while (i < text.size() && is_digit(text[i])) {
        if (++digits > 9) return std::nullopt;
        nanos = nanos * 10 + (text[i] - '0');
        ++i;
      }
      if (digits == 0) return std::nullopt;
      for (std::size_t k = digits; k < 9; ++k) nanos *= 10;
      t += nanoseconds(nanos);
    }
  }
  if (h > 23 || mi > 59 || s > 59) return std::nullopt;
  t += hours(h) + minutes(mi) + seconds(s);

  if (i < text.size()) {
    const char zone = text[i++];
    if (zone == 'Z' || zone == 'z') {
      if (i != text.size()) return std::nullopt;
    } else if (zone == '+' || zone == '-') {
      int oh = 0, om = 0;
      if (!read_digits(text, i, 2, oh)) return std::nullopt;
      if (i < text.size() && text[i] == ':') ++i;
      if (!read_digits(text, i, 2, om) || i != text.size() || oh > 23 || om > 59) {
        return std::nullopt;
      }
      const minutes offset = hours(oh) + minutes(om);
      t -= zone == '+' ? offset : -offset;  // local time minus its offset is UTC
    } else {
      return std::nullopt;
    }
  }
  return time_point_cast<system_clock::duration>(t);
}

std::string check_since(const std::string& text) {
  if (parse_duration(text) || parse_iso_time(text)) return {};
  return "invalid time '" + text +
         "': use a duration ago (e.g. 90, 30m, 2h, 7d, 1h30m) or an ISO-8601 time "
         "(e.g. 2026-11-22, 2026-11-22T10:00:00Z, 2026-11-22T12:00:00+02:00)";
}

std::chrono::system_clock::time_point parse_since_or_throw(
    std::string_view text, std::chrono::system_clock::time_point now) {
  if (auto ago = parse_duration(text)) return now - *ago;
  if (auto at = parse_iso_time(text)) return *at;
  throw std::invalid_argument(check_since(std::string(text)));
}

}  // namespace pgqrs::cli
