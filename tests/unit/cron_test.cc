// Cron expressions and time zones (core/cron.h, core/time_zone.h), driven by explicit
// instants: syntax, OR rule of the day fields, 6-field seconds, and DST gaps and overlaps
// in real zones of the system database.
#include <gtest/gtest.h>

#include <string>

#include "core/cron.h"
#include "core/time_zone.h"
#include "pgqrs/error.h"

namespace {

using pgqrs::core::CronExpr;
using pgqrs::core::days_from_civil;
using pgqrs::core::TimeZone;

// Unix seconds of a UTC civil time.
std::int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

std::int64_t next(const std::string& expr, std::int64_t after,
                  const TimeZone& tz = TimeZone::utc()) {
  auto n = CronExpr::parse(expr).next_after(after, tz);
  EXPECT_TRUE(n.has_value()) << expr;
  return n.value_or(-1);
}

std::string error_of(const std::string& expr) {
  try {
    CronExpr::parse(expr);
  } catch (const pgqrs::ValidationError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Cron, FiveFieldsFireAtSecondZero) {
  EXPECT_EQ(next("0 3 * * *", utc(2026, 1, 1, 12)), utc(2026, 1, 2, 3));
  EXPECT_EQ(next("*/5 * * * *", utc(2026, 1, 1, 12, 2, 30)), utc(2026, 1, 1, 12, 5));
  EXPECT_EQ(next("*/5 * * * *", utc(2026, 1, 1, 12, 5)), utc(2026, 1, 1, 12, 10));
}

TEST(Cron, SixFieldsHaveSecondsFirst) {
  EXPECT_EQ(next("*/5 * * * * *", utc(2026, 1, 1, 12, 0, 3)), utc(2026, 1, 1, 12, 0, 5));
  EXPECT_EQ(next("30 0 12 * * *", utc(2026, 1, 1, 12)), utc(2026, 1, 1, 12, 0, 30));
  EXPECT_TRUE(CronExpr::parse("* * * * * *").has_seconds());
  EXPECT_FALSE(CronExpr::parse("* * * * *").has_seconds());
}

TEST(Cron, ListsRangesStepsAndNames) {
  EXPECT_EQ(next("0 9-17/4 * * *", utc(2026, 1, 1, 10)), utc(2026, 1, 1, 13));
  EXPECT_EQ(next("0 0 1,15 * *", utc(2026, 1, 2)), utc(2026, 1, 15));
  EXPECT_EQ(next("0 0 1 mar,Sep *", utc(2026, 1, 2)), utc(2026, 3, 1));
  EXPECT_EQ(next("0 0 * * MON-FRI", utc(2026, 1, 3)), utc(2026, 1, 5));  // Sat -> Mon
  EXPECT_EQ(next("0 0 * * 7", utc(2026, 1, 1)), utc(2026, 1, 4));        // 7 = Sunday
  EXPECT_EQ(next("0 0 * * sun", utc(2026, 1, 1)), utc(2026, 1, 4));
  EXPECT_EQ(next("15/20 * * * *", utc(2026, 1, 1, 0, 16)), utc(2026, 1, 1, 0, 35));
  EXPECT_EQ(next("@hourly", utc(2026, 1, 1, 0, 16)), utc(2026, 1, 1, 1));
  EXPECT_EQ(next("@daily", utc(2026, 1, 1, 0, 16)), utc(2026, 1, 2));
  EXPECT_EQ(next("0 0 ? * 1", utc(2026, 1, 1)), utc(2026, 1, 5));
}

TEST(Cron, DayOfMonthAndDayOfWeekAreOredWhenBothRestricted) {
  // 13th of the month OR a Friday: Fri 2026-01-02 comes first.
  EXPECT_EQ(next("0 0 13 * 5", utc(2026, 1, 1)), utc(2026, 1, 2));
  // Day-of-week '*': only the 13th.
  EXPECT_EQ(next("0 0 13 * *", utc(2026, 1, 1)), utc(2026, 1, 13));
  // A starred day-of-month with a step counts as unrestricted (cron's rule): Fridays only.
  EXPECT_EQ(next("0 0 */1 * 5", utc(2026, 1, 3)), utc(2026, 1, 9));
}

TEST(Cron, LeapDayFiresInLeapYears) {
  EXPECT_EQ(next("0 0 29 2 *", utc(2026, 1, 1)), utc(2028, 2, 29));
}

TEST(Cron, MalformedExpressionsNameTheField) {
  EXPECT_NE(error_of("0 25 * * *").find("hour field '25'"), std::string::npos);
  EXPECT_NE(error_of("61 * * * * *").find("second field"), std::string::npos);
  EXPECT_NE(error_of("* * 0 * *").find("day-of-month"), std::string::npos);
  EXPECT_NE(error_of("* * * 13 *").find("month"), std::string::npos);
  EXPECT_NE(error_of("* * * * 8").find("day-of-week"), std::string::npos);
  EXPECT_NE(error_of("* * * * FOO").find("day-of-week"), std::string::npos);
  EXPECT_NE(error_of("*/0 * * * *").find("step"), std::string::npos);
  EXPECT_NE(error_of("5-1 * * * *").find("range start"), std::string::npos);
  EXPECT_NE(error_of("? * * * *").find("'?'"), std::string::npos);
  EXPECT_NE(error_of("* * * *").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(error_of("* * * * * * *").find("got 7"), std::string::npos);
  EXPECT_NE(error_of("").find("got 0"), std::string::npos);
  EXPECT_NE(error_of("1,,2 * * * *").find("empty list item"), std::string::npos);
  EXPECT_NE(error_of("0 0 30 2 *").find("never fires"), std::string::npos);
  EXPECT_NE(error_of("@often").find("unknown macro"), std::string::npos);
  EXPECT_EQ(error_of("0 25 * * *").rfind("cron: ", 0), 0u);
}

TEST(TimeZone, UnknownOrUnsafeNamesAreValidationErrors) {
  for (const char* bad :
       {"Mars/Olympus", "../etc/passwd", "/etc/passwd", "", "America", "Europe/Paris\n"}) {
    try {
      TimeZone::load(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const pgqrs::ValidationError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("time_zone: unknown time zone", 0), 0u) << e.what();
    }
  }
}

TEST(TimeZone, OffsetsFollowDaylightSavingTime) {
  const TimeZone ny = TimeZone::load("America/New_York");
  EXPECT_EQ(ny.offset_at(utc(2026, 1, 15)), -5 * 3600);
  EXPECT_EQ(ny.offset_at(utc(2026, 7, 15)), -4 * 3600);
  // Past the fat file's last transition (2037): the POSIX footer's rules.
  EXPECT_EQ(ny.offset_at(utc(2090, 7, 15)), -4 * 3600);
  EXPECT_EQ(ny.offset_at(utc(2090, 12, 15)), -5 * 3600);
  const TimeZone sydney = TimeZone::load("Australia/Sydney");
  EXPECT_EQ(sydney.offset_at(utc(2026, 1, 15)), 11 * 3600);
  EXPECT_EQ(sydney.offset_at(utc(2026, 7, 15)), 10 * 3600);
  EXPECT_EQ(sydney.offset_at(utc(2095, 1, 15)), 11 * 3600);
  EXPECT_EQ(TimeZone::load("Asia/Kolkata").offset_at(utc(2026, 1, 1)), 19800);
}

TEST(Cron, WallClockTimeInAZone) {
  const TimeZone paris = TimeZone::load("Europe/Paris");
  // 03:00 Paris = 02:00 UTC in winter, 01:00 UTC in summer.
  EXPECT_EQ(next("0 3 * * *", utc(2026, 1, 10), paris), utc(2026, 1, 10, 2));
  EXPECT_EQ(next("0 3 * * *", utc(2026, 7, 10), paris), utc(2026, 7, 10, 1));
}

TEST(Cron, TimeSkippedBySpringForwardFiresOnceAtTheJump) {
  const TimeZone ny = TimeZone::load("America/New_York");
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC). 02:30 does not exist that day.
  EXPECT_EQ(next("30 2 * * *", utc(2026, 3, 8, 0), ny), utc(2026, 3, 8, 7));
  // The next day it is 02:30 EDT again.
  EXPECT_EQ(next("30 2 * * *", utc(2026, 3, 8, 7), ny), utc(2026, 3, 9, 6, 30));
  // Every 15 minutes across the gap: 01:45 EST, then the jump once, then 03:15 EDT.
  EXPECT_EQ(next("*/15 * * * *", utc(2026, 3, 8, 6, 45), ny), utc(2026, 3, 8, 7));
  EXPECT_EQ(next("*/15 * * * *", utc(2026, 3, 8, 7), ny), utc(2026, 3, 8, 7, 15));
}

TEST(Cron, TimeRepeatedByFallBackFiresOnceAtTheFirstOccurrence) {
  const TimeZone ny = TimeZone::load("America/New_York");
  // 2026-11-01: 02:00 EDT goes back to 01:00 EST (06:00 UTC). 01:30 happens twice.
  EXPECT_EQ(next("30 1 * * *", utc(2026, 11, 1, 0), ny), utc(2026, 11, 1, 5, 30));  // EDT
  EXPECT_EQ(next("30 1 * * *", utc(2026, 11, 1, 5, 30), ny), utc(2026, 11, 2, 6, 30));
  // Hourly: 01:00 EDT (05:00Z) fires, the repeated 01:00 EST (06:00Z) does not, 02:00 EST does.
  EXPECT_EQ(next("0 * * * *", utc(2026, 11, 1, 5), ny), utc(2026, 11, 1, 7));
}

}  // namespace
