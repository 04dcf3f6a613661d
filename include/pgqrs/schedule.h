// Schedules: messages or workflow runs created by the database on a cron expression or a
// fixed interval (docs/schedules.md).
//
//   pgqrs::schedule("nightly-report").cron("0 3 * * *").time_zone("Europe/Paris")
//       .enqueue_to("reports", {{"kind", "nightly"}}).create(store);
//
// A schedule is a row in the store. Every poll loop on the store (consumers, `pgqrs worker
// run`, workflow workers) and every Scheduler handle fires due schedules, checking at most
// once per `check_interval` of the store's clock. Each tick fires exactly once however many
// processes run: the tick is claimed by a compare-and-set of the schedule's next fire time in
// the same transaction that creates its message or run. The message (or the run and its
// message) carries the tick time: enqueued_at / created_at = the tick, and the message is
// visible from the tick on.
//
// Errors: bad input (malformed cron, unknown time zone, a non-positive interval, a bad name,
// payload or missing target) is a ValidationError naming the field; nothing is stored. A
// second schedule of the same name is a ConflictError; an unknown name a ValidationError.
// Thread-safe: every function may be called from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"
#include "pgqrs/records.h"
#include "pgqrs/store.h"

namespace pgqrs {

// Ticks missed while no process fired the schedule (all processes down, or busy longer than a
// period). kNone: drop them, and fire a due tick only if it is at most kOnTimeGrace late;
// kLast (default): fire the latest missed tick once; kAll: fire every missed tick, oldest
// first, at most kMaxTicksPerFire per transaction.
enum class CatchUp { kNone, kLast, kAll };
const char* to_string(CatchUp c);                  // "none" | "last" | "all"
CatchUp catch_up_from_string(std::string_view s);  // ValidationError naming catch_up

inline constexpr std::chrono::seconds kOnTimeGrace{60};
inline constexpr std::size_t kMaxTicksPerFire = 100;

enum class ScheduleTarget { kQueue, kWorkflow };

struct ScheduleRecord {
  std::int64_t id = 0;
  std::string name;
  std::optional<std::string> cron;  // set for a cron schedule
  std::optional<Duration> every;    // set for an interval schedule
  std::string time_zone = "UTC";    // IANA name; cron fields are wall time there
  ScheduleTarget target_kind = ScheduleTarget::kQueue;
  std::string target;  // queue or workflow name
  json payload;        // message payload, or workflow input
  CatchUp catch_up = CatchUp::kLast;
  bool paused = false;
  TimePoint next_fire_at;                 // the next tick (while paused: when it was paused)
  std::optional<TimePoint> last_fire_at;  // the last tick fired
  TimePoint created_at;
  TimePoint updated_at;
};

class ScheduleBuilder {
 public:
  explicit ScheduleBuilder(std::string name) : name_(std::move(name)) {}
  // 5 fields, or 6 with seconds first; see docs/schedules.md for the syntax.
  ScheduleBuilder& cron(std::string expression);
  // Fires every `period` (>= 1 s) from creation on.
  ScheduleBuilder& every(Duration period);
  ScheduleBuilder& time_zone(std::string iana_name);  // default "UTC"
  ScheduleBuilder& enqueue_to(std::string queue, json payload = json::object());
  ScheduleBuilder& trigger(std::string workflow, json input = json::object());
  ScheduleBuilder& catch_up(CatchUp mode);

  // Validates everything, then stores the schedule (next fire: the first tick after now).
  ScheduleRecord create(const Store& store) const;

 private:
  std::string name_;
  std::optional<std::string> cron_;
  std::optional<Duration> every_;
  std::string time_zone_ = "UTC";
  std::optional<ScheduleTarget> target_kind_;
  std::string target_;
  json payload_ = json::object();
  CatchUp catch_up_ = CatchUp::kLast;
};

inline ScheduleBuilder schedule(std::string name) { return ScheduleBuilder(std::move(name)); }

// Management. Names are validated like queue names.
std::vector<ScheduleRecord> list_schedules(const Store& store);  // by name
ScheduleRecord get_schedule(const Store& store, std::string_view name);
// Paused schedules do not fire; ticks that pass while paused are skipped, not caught up.
ScheduleRecord pause_schedule(const Store& store, std::string_view name);
// Resumes from now: the next fire time is the first tick after now.
ScheduleRecord resume_schedule(const Store& store, std::string_view name);
// False if there was no such schedule.
bool remove_schedule(const Store& store, std::string_view name);
// The next `n` fire times after `after` (a preview; does not touch the store).
std::vector<TimePoint> upcoming_fire_times(const ScheduleRecord& s, TimePoint after, std::size_t n);
// How late the schedule is at `now`: now - next_fire_at when its next tick is due and not
// yet fired, zero otherwise (and while paused: a paused schedule skips its ticks).
Duration schedule_lag(const ScheduleRecord& s, TimePoint now);

// Fires every due schedule now (the store's clock), regardless of the check interval.
// Returns the number of ticks this call fired (0 when another process claimed them first).
std::size_t fire_due_schedules(const Store& store);

// A background thread that fires due schedules every `check_interval` of the store's clock
// (a ManualClock drives it) and runs retention when it is due (pgqrs/retention.h). Stops and
// joins in stop() or the destructor. Errors from the store are retried at the next check.
class Scheduler {
 public:
  explicit Scheduler(Store store, Duration check_interval = std::chrono::seconds(1));
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  void stop();
  // Ticks fired by this handle so far.
  std::size_t fired() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgqrs
