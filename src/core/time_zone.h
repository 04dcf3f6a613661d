// TimeZone: an IANA time zone read from the system zone database (TZif files under
// $TZDIR, default /usr/share/zoneinfo), for schedules (internal).
//
// Contract:
//  - load(name) accepts "UTC" without any file and every name the database has ("Europe/Paris",
//    "America/New_York", "Etc/GMT+5"). A name that is empty, absolute, contains "..", or names
//    no readable TZif file is a ValidationError naming the field `what` and the name.
//  - offset_at(t) is the UTC offset in force at instant t. Transitions come from the file's
//    64-bit data; after the last one, from the file's POSIX TZ footer (so "slim" files that stop
//    at 2007 are right too), generated up to the year 2400; later instants keep the last offset.
//  - resolve(local) maps a wall-clock time (seconds since 1970-01-01 00:00 local) to instants:
//    one for a normal time, two (earliest first) for a time repeated when clocks go back, none
//    for a time skipped when clocks go forward (gap_end then gives the first instant after it).
// Immutable after load; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgqrs::core {

class TimeZone {
 public:
  static TimeZone utc();
  static TimeZone load(std::string_view name, std::string_view what = "time_zone");

  const std::string& name() const { return name_; }
  // Offset from UTC, in seconds, at `unix_seconds`.
  std::int64_t offset_at(std::int64_t unix_seconds) const;
  // The instants (unix seconds, ascending) whose wall-clock time is `local_seconds`.
  std::vector<std::int64_t> resolve(std::int64_t local_seconds) const;
  // For a skipped wall-clock time: the instant the clocks jumped (the first instant whose wall
  // time is later than `local_seconds`).
  std::int64_t gap_end(std::int64_t local_seconds) const;

  struct Transition {
    std::int64_t at;      // unix seconds
    std::int64_t offset;  // offset from `at` on
  };

 private:
  static TimeZone read_file(std::string_view name, std::string_view what);

  std::string name_;
  std::int64_t initial_offset_ = 0;      // before the first transition
  std::vector<Transition> transitions_;  // ascending by `at`
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};
CivilDate civil_from_days(std::int64_t days);
// 0 = Sunday.
unsigned weekday_from_days(std::int64_t days);
unsigned days_in_month(std::int64_t year, unsigned month);

}  // namespace pgqrs::core
