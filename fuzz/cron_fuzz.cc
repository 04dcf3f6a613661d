// libFuzzer target: cron expressions and time-zone names of schedules (core/cron.h,
// core/time_zone.h). Input: "<zone>\n<cron>" (no newline: the whole input is the cron, UTC).
// Contract: a parsed expression or a ValidationError that names the field ("cron: ..." /
// "time_zone: ..."); for a parsed expression the next fire times are strictly increasing and
// each is a time the expression accepts again (next_after(t - 1) == t).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/cron.h"
#include "core/time_zone.h"
#include "fuzz_util.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "cron: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view zone = "UTC";
  if (auto nl = text.find('\n'); nl != std::string_view::npos) {
    zone = text.substr(0, nl);
    text.remove_prefix(nl + 1);
  }
  pgqrs::fuzz::expect_typed_errors("cron", [&] {
    try {
      const auto tz = pgqrs::core::TimeZone::load(zone);
      const auto expr = pgqrs::core::CronExpr::parse(text);
      std::int64_t t = 1'767'225'600;  // 2026-01-01T00:00:00Z
      for (int i = 0; i < 4; ++i) {
        const auto next = expr.next_after(t, tz);
        if (!next) break;
        if (*next <= t) fail("next fire time not after its start");
        if (expr.next_after(*next - 1, tz) != next) fail("next fire time not reproducible");
        t = *next;
      }
    } catch (const pgqrs::ValidationError& e) {
      const std::string_view msg = e.what();
      if (msg.rfind("cron: ", 0) != 0 && msg.rfind("time_zone: ", 0) != 0) {
        fail("a ValidationError that names no field");
      }
    }
  });
  return 0;
}
