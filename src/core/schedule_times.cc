#include "core/schedule_times.h"

#include <chrono>

namespace pgqrs::core {
namespace {

using std::chrono::duration_cast;
using std::chrono::floor;
using std::chrono::seconds;

std::int64_t unix_seconds(TimePoint t) { return floor<seconds>(t.time_since_epoch()).count(); }
TimePoint from_seconds(std::int64_t s) { return TimePoint(duration_cast<Duration>(seconds(s))); }

}  // namespace

ScheduleTimes::ScheduleTimes(const ScheduleRecord& s)
    : s_(s), tz_(s.time_zone == "UTC" ? TimeZone::utc() : TimeZone::load(s.time_zone)) {
  if (s.cron) cron_ = CronExpr::parse(*s.cron);
}

std::optional<TimePoint> ScheduleTimes::next_after(TimePoint t) const {
  if (cron_) {
    auto next = cron_->next_after(unix_seconds(t), tz_);
    if (!next) return std::nullopt;
    return from_seconds(*next);
  }
  const Duration every = *s_.every;
  if (t < s_.created_at) return s_.created_at + every;
  const auto k = (t - s_.created_at) / every + 1;
  return s_.created_at + k * every;
}

std::optional<TimePoint> ScheduleTimes::latest_due(TimePoint now) const {
  if (!cron_) {
    const auto k = (now - s_.next_fire_at) / *s_.every;
    return s_.next_fire_at + k * *s_.every;
  }
  // Start the walk close to `now`: find a window [now - w, now] holding a tick, doubling w.
  TimePoint from = s_.next_fire_at;
  for (Duration w = std::chrono::hours(48); now - w > s_.next_fire_at; w *= 2) {
    auto t = next_after(now - w);
    if (t && *t <= now) {
      from = *t;
      break;
    }
  }
  TimePoint latest = from;
  for (int i = 0; i < 10'000'000; ++i) {
    auto t = next_after(latest);
    if (!t || *t > now) break;
    latest = *t;
  }
  return latest;
}

std::optional<ScheduleTimes::Firing> ScheduleTimes::plan(TimePoint now) const {
  Firing f;
  if (s_.catch_up == CatchUp::kAll) {
    TimePoint t = s_.next_fire_at;
    while (t <= now && f.ticks.size() < kMaxTicksPerFire) {
      f.ticks.push_back(t);
      auto n = next_after(t);
      if (!n) return std::nullopt;
      t = *n;
    }
    f.next = t;
    return f;
  }
  const auto latest = latest_due(now);
  if (!latest) return std::nullopt;
  const bool on_time = now - *latest <= kOnTimeGrace;
  if (s_.catch_up == CatchUp::kLast || on_time) f.ticks.push_back(*latest);
  auto n = next_after(*latest);
  if (!n) return std::nullopt;
  f.next = *n;
  return f;
}

}  // namespace pgqrs::core
