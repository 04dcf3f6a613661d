// Parsing of human-written durations for CLI options such as --older-than and --timeout, and
// of points in time for --since.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pgqrs::cli {

// Parses "30" (bare seconds), "30s", "5m", "2h", "7d", "1w" and concatenations of them
// ("1h30m"). Whitespace, signs, fractions and unknown units are rejected. Returns nullopt
// when `text` is not a valid duration or is larger than 100 years.
std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept;

// CLI11 check function: empty string when `text` parses, otherwise a message saying what
// forms are accepted.
std::string check_duration(const std::string& text);

// Like parse_duration, but throws std::invalid_argument with the check_duration message.
std::chrono::seconds parse_duration_or_throw(std::string_view text);

// Parses an ISO-8601 time: "2026-11-22" (midnight UTC), "2026-11-22T10:00",
// "2026-11-22T10:00:00", with optional fraction ".123" (up to 9 digits) and optional zone
// "Z", "+02:00", "-0530" (no zone means UTC). A space may replace the "T". Returns nullopt
// for anything else, including out-of-range fields (month 13, February 30, hour 24) and
// years outside 1900..2200.
std::optional<std::chrono::system_clock::time_point> parse_iso_time(std::string_view text) noexcept;

// A --since value: a duration ago (parse_duration: "90", "1h", "7d") or an ISO-8601 time
// (parse_iso_time). check_since is the CLI11 check; parse_since_or_throw resolves a duration
// against `now` and throws std::invalid_argument with the check_since message.
std::string check_since(const std::string& text);
std::chrono::system_clock::time_point parse_since_or_throw(
    std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace pgqrs::cli
