#include "duration.h"

#include <cstdint>
#include <stdexcept>

namespace pgqrs::cli {

namespace {

constexpr std::int64_t kMaxSeconds = 100LL * 366 * 24 * 3600;  // ~100 years

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

}  // namespace pgqrs::cli
