// ScheduleStore: the capability that stores schedules and fires their ticks (issue 14).
// The engine parses cron expressions and computes tick times (core/schedule*.cc); the backend
// stores them and claims a tick atomically. Shared contracts: see backend/backend.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"
#include "pgqrs/schedule.h"

namespace pgqrs::backend {

// A validated schedule to store.
struct NewSchedule {
  std::string name;
  std::optional<std::string> cron;
  std::optional<std::int64_t> every_us;
  std::string time_zone;
  ScheduleTarget target_kind = ScheduleTarget::kQueue;
  std::string target;
  std::string payload;  // serialised JSON
  CatchUp catch_up = CatchUp::kLast;
  TimePoint next_fire_at;
};

class ScheduleStore {
 public:
  virtual ~ScheduleStore() = default;
  // ConflictError if a schedule of that name exists; QueueNotFoundError for a queue target
  // that does not exist; ValidationError for a workflow target that is not registered.
  virtual ScheduleRecord create_schedule(const NewSchedule& s, TimePoint now) = 0;
  virtual std::optional<ScheduleRecord> find_schedule(std::string_view name) = 0;
  virtual std::vector<ScheduleRecord> list_schedules() = 0;  // by name
  // Sets paused and next_fire_at (updated_at = now); nullopt for an unknown name.
  virtual std::optional<ScheduleRecord> set_schedule_state(std::string_view name, bool paused,
                                                           TimePoint next_fire_at,
                                                           TimePoint now) = 0;
  virtual bool delete_schedule(std::string_view name) = 0;
  // Unpaused schedules with next_fire_at <= now, earliest first, at most `limit`.
  virtual std::vector<ScheduleRecord> due_schedules(TimePoint now, std::uint32_t limit) = 0;
  // In ONE transaction: when schedule `id` is unpaused and its next_fire_at == `expected`
  // (compare-and-set), set next_fire_at = `next`, last_fire_at = ticks.back() (kept when
  // `ticks` is empty), updated_at = now, and create one message per tick on the queue target
  // (payload; vt = enqueued_at = the tick) or one run per tick of the workflow target (input;
  // created_at = the tick, as trigger_run with now = the tick). False, nothing changed, when
  // the compare-and-set fails (another process fired it, or it was paused or removed).
  virtual bool fire_schedule(std::int64_t id, TimePoint expected,
                             const std::vector<TimePoint>& ticks, TimePoint next,
                             TimePoint now) = 0;
};

}  // namespace pgqrs::backend
