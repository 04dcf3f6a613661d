// libFuzzer target: the CLI's argument parsers: durations ("90s", "2h"), times for --since
// ("2026-11-22T10:00:00Z", "1h"), and JSON arguments. Contract (cli/duration.h,
// cli/json_arg.h): a value or nullopt; the *_or_throw forms throw only std::invalid_argument
// (CLI11 shows its message); JSON arguments only UsageError. Anything else aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "context.h"
#include "duration.h"
#include "json_arg.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)pgqrs::cli::parse_duration(text);
  (void)pgqrs::cli::parse_iso_time(text);
  (void)pgqrs::cli::check_duration(text);
  (void)pgqrs::cli::check_since(text);
  try {
    (void)pgqrs::cli::parse_duration_or_throw(text);
  } catch (const std::invalid_argument&) {
  }
  try {
    (void)pgqrs::cli::parse_since_or_throw(text, std::chrono::system_clock::now());
  } catch (const std::invalid_argument&) {
  }
  if (text != "-") {  // "-" reads stdin
    try {
      (void)pgqrs::cli::read_json_argument(text);
    } catch (const pgqrs::cli::UsageError&) {
    }
  }
  return 0;
}
