// Parsing of human-written durations for CLI options such as --older-than and --timeout.
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

}  // namespace pgqrs::cli
