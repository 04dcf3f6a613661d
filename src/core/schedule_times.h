// Tick arithmetic of a schedule (internal): the next tick after a time, and which due ticks
// one firing creates under its catch_up mode. Pure functions of the record and the clock
// reading; no storage.
#pragma once

#include <optional>
#include <vector>

#include "core/cron.h"
#include "core/time_zone.h"
#include "pgqrs/schedule.h"

namespace pgqrs::core {

class ScheduleTimes {
 public:
  // Parses the record's cron / time zone (ValidationError naming the field when bad).
  explicit ScheduleTimes(const ScheduleRecord& s);
  // The first tick strictly after `t`; nullopt if the cron never fires again.
  std::optional<TimePoint> next_after(TimePoint t) const;

  struct Firing {
    std::vector<TimePoint> ticks;  // to create now, oldest first
    TimePoint next;                // the schedule's next_fire_at afterwards
  };
  // For a schedule whose next_fire_at <= now: the ticks to fire and the next fire time.
  // nullopt when the cron never fires again (the schedule is then left as it is).
  std::optional<Firing> plan(TimePoint now) const;

 private:
  // The latest tick <= now, given that next_fire_at <= now.
  std::optional<TimePoint> latest_due(TimePoint now) const;

  const ScheduleRecord& s_;
  std::optional<CronExpr> cron_;
  TimeZone tz_;
};

}  // namespace pgqrs::core
