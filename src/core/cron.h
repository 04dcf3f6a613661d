// CronExpr: a parsed cron expression and its next fire time in a time zone (internal).
//
// Syntax (as Vixie cron / cronie, plus an optional leading seconds field):
//   [second] minute hour day-of-month month day-of-week      (5 or 6 fields)
// Each field is a comma list of items: `*`, `?` (day fields only), `N`, `A-B`, `*/S`, `A-B/S`,
// `N/S` (N to the field's maximum, step S). Months take JAN..DEC, days SUN..SAT (any case);
// day-of-week 0..7 with 0 and 7 both Sunday. Macros: @yearly @annually @monthly @weekly
// @daily @midnight @hourly. A 5-field expression fires at second 0.
// Day-of-month and day-of-week: when both fields are restricted (do not start with `*` or
// `?`), a day matches if EITHER matches (cron's OR rule); otherwise the restricted one decides.
//
// Time zones: the fields are wall-clock time in the zone. A wall time skipped by a DST jump
// fires once, at the instant of the jump; a wall time repeated when clocks go back fires
// once, at its first occurrence.
//
// parse() throws ValidationError naming `what` (e.g. "cron"), the field and the bad text; it
// also rejects expressions that can never fire (e.g. "0 0 30 2 *"). Immutable; thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time_zone.h"

namespace pgqrs::core {

class CronExpr {
 public:
  static CronExpr parse(std::string_view text, std::string_view what = "cron");

  // The first fire time strictly after `unix_seconds`, in zone `tz`; nullopt when there is none
  // within 400 years.
  std::optional<std::int64_t> next_after(std::int64_t unix_seconds, const TimeZone& tz) const;

  const std::string& text() const { return text_; }
  bool has_seconds() const { return has_seconds_; }

 private:
  // The first matching wall-clock time >= local (seconds since 1970-01-01 local).
  std::optional<std::int64_t> next_local(std::int64_t local) const;
  bool day_matches(std::int64_t days) const;

  std::string text_;
  bool has_seconds_ = false;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0..6, Sunday = 0
  bool dom_restricted_ = false, dow_restricted_ = false;
};

}  // namespace pgqrs::core
