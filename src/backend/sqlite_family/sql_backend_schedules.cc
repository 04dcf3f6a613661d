// SqlFamilyBackend: schedules (capabilities/schedules.h). A tick is claimed by the
// compare-and-set of next_fire_at inside the same BEGIN IMMEDIATE transaction that inserts
// its messages or runs, so two processes can never both fire it.
#include <string>

#include "backend/schedule_rows.h"
#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kInsert[] = R"sql(
INSERT INTO pgqrs_schedules (name, cron, every_us, time_zone, target_kind, target, payload,
                             catch_up, paused, next_fire_at, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?10) RETURNING id)sql";
constexpr char kByName[] = "SELECT " PGQRS_SCHEDULE_COLUMNS " FROM pgqrs_schedules WHERE name = ?1";
constexpr char kAll[] = "SELECT " PGQRS_SCHEDULE_COLUMNS " FROM pgqrs_schedules ORDER BY name";
constexpr char kDue[] = "SELECT " PGQRS_SCHEDULE_COLUMNS
                        " FROM pgqrs_schedules WHERE paused = 0 AND next_fire_at <= ?1 "
                        "ORDER BY next_fire_at, id LIMIT ?2";
constexpr char kSetState[] =
    "UPDATE pgqrs_schedules SET paused = ?2, next_fire_at = ?3, updated_at = ?4 WHERE name = ?1";
constexpr char kDelete[] = "DELETE FROM pgqrs_schedules WHERE name = ?1";
constexpr char kWorkflowExists[] = "SELECT 1 FROM pgqrs_workflows WHERE name = ?1";
// The claim: ?1 id, ?2 expected next_fire_at, ?3 new next_fire_at, ?4 last tick (NULL: keep),
// ?5 now.
constexpr char kClaim[] = R"sql(
UPDATE pgqrs_schedules
SET next_fire_at = ?3, last_fire_at = coalesce(?4, last_fire_at), updated_at = ?5
WHERE id = ?1 AND next_fire_at = ?2 AND paused = 0
RETURNING target_kind, target, payload)sql";

std::optional<ScheduleRecord> by_name(Session& s, std::string_view name) {
  auto q = s.query(kByName);
  q.bind(name);
  if (!q.step()) return std::nullopt;
  return backend::read_schedule(QueryRow(q));
}

}  // namespace

ScheduleRecord SqlFamilyBackend::create_schedule(const backend::NewSchedule& n, TimePoint now) {
  return exec_.write("create_schedule", [&](Session& s) {
    if (by_name(s, n.name)) {
      throw ConflictError("schedule '" + n.name + "' already exists");
    }
    if (n.target_kind == ScheduleTarget::kQueue) {
      require_queue_id(s, n.target);
    } else {
      auto q = s.query(kWorkflowExists);
      q.bind(n.target);
      if (!q.step()) {
        throw ValidationError("trigger: workflow '" + n.target + "' is not registered");
      }
    }
    s.query(kInsert)
        .bind(n.name)
        .bind(n.cron)
        .bind(n.every_us)
        .bind(n.time_zone)
        .bind(std::string_view(backend::target_kind_text(n.target_kind)))
        .bind(n.target)
        .bind(n.payload)
        .bind(std::string_view(to_string(n.catch_up)))
        .bind(n.next_fire_at)
        .bind(now)
        .insert_returning_id();
    return *by_name(s, n.name);
  });
}

std::optional<ScheduleRecord> SqlFamilyBackend::find_schedule(std::string_view name) {
  return exec_.read("find_schedule", [&](Session& s) { return by_name(s, name); });
}

std::vector<ScheduleRecord> SqlFamilyBackend::list_schedules() {
  return exec_.read("list_schedules", [&](Session& s) {
    std::vector<ScheduleRecord> out;
    auto q = s.query(kAll);
    while (q.step()) out.push_back(backend::read_schedule(QueryRow(q)));
    return out;
  });
}

std::optional<ScheduleRecord> SqlFamilyBackend::set_schedule_state(std::string_view name,
                                                                   bool paused,
                                                                   TimePoint next_fire_at,
                                                                   TimePoint now) {
  return exec_.write("set_schedule_state", [&](Session& s) -> std::optional<ScheduleRecord> {
    if (s.query(kSetState).bind(name).bind(paused ? 1 : 0).bind(next_fire_at).bind(now).execute() ==
        0) {
      return std::nullopt;
    }
    return by_name(s, name);
  });
}

bool SqlFamilyBackend::delete_schedule(std::string_view name) {
  return exec_.write("delete_schedule",
                     [&](Session& s) { return s.query(kDelete).bind(name).execute() > 0; });
}

std::vector<ScheduleRecord> SqlFamilyBackend::due_schedules(TimePoint now, std::uint32_t limit) {
  return exec_.read("due_schedules", [&](Session& s) {
    std::vector<ScheduleRecord> out;
    auto q = s.query(kDue);
    q.bind(now).bind(limit);
    while (q.step()) out.push_back(backend::read_schedule(QueryRow(q)));
    return out;
  });
}

bool SqlFamilyBackend::fire_schedule(std::int64_t id, TimePoint expected,
                                     const std::vector<TimePoint>& ticks, TimePoint next,
                                     TimePoint now) {
  return exec_.write("fire_schedule", [&](Session& s) {
    std::string kind, target, payload;
    {
      auto q = s.query(kClaim);
      q.bind(id).bind(expected).bind(next);
      if (ticks.empty()) {
        q.bind(std::nullopt);
      } else {
        q.bind(ticks.back());
      }
      q.bind(now);
      if (!q.step()) return false;
      kind = q.text(0);
      target = q.text(1);
      payload = q.text(2);
    }
    if (kind == "queue") {
      const std::int64_t queue_id = require_queue_id(s, target);
      for (TimePoint tick : ticks) insert_message(s, queue_id, payload, tick, tick, std::nullopt);
    } else {
      for (TimePoint tick : ticks) trigger_in(s, target, payload, tick);
    }
    return true;
  });
}

}  // namespace pgqrs::sqlite_family
