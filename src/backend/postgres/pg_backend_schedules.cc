// PostgresBackend: schedules (capabilities/schedules.h). fire_schedule is one transaction:
// the compare-and-set UPDATE of next_fire_at (a concurrent claimer waits on the row lock,
// then re-checks and matches nothing) and the enqueue / trigger statements of its ticks.
#include <string>

#include "backend/postgres/message_sql.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "backend/schedule_rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

constexpr char kInsert[] = R"sql(
INSERT INTO {s}.pgqrs_schedules (name, cron, every_us, time_zone, target_kind, target, payload,
                                 catch_up, paused, next_fire_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10)
ON CONFLICT (name) DO NOTHING RETURNING id)sql";
constexpr char kQueueExists[] = "SELECT 1 FROM {s}.pgqrs_queues WHERE queue_name = $1";
constexpr char kWorkflowExists[] = "SELECT 1 FROM {s}.pgqrs_workflows WHERE name = $1";
constexpr char kByName[] =
    "SELECT " PGQRS_SCHEDULE_COLUMNS " FROM {s}.pgqrs_schedules WHERE name = $1";
constexpr char kAll[] = "SELECT " PGQRS_SCHEDULE_COLUMNS " FROM {s}.pgqrs_schedules ORDER BY name";
constexpr char kDue[] = "SELECT " PGQRS_SCHEDULE_COLUMNS
                        " FROM {s}.pgqrs_schedules WHERE paused = 0 AND next_fire_at <= $1 "
                        "ORDER BY next_fire_at, id LIMIT $2";
constexpr char kSetState[] =
    "UPDATE {s}.pgqrs_schedules SET paused = $2, next_fire_at = $3, "
    "updated_at = $4 WHERE name = $1 RETURNING " PGQRS_SCHEDULE_COLUMNS;
constexpr char kDelete[] = "DELETE FROM {s}.pgqrs_schedules WHERE name = $1";
// $1 id, $2 expected next_fire_at, $3 new next_fire_at, $4 last tick (NULL: keep), $5 now.
constexpr char kClaim[] = R"sql(
UPDATE {s}.pgqrs_schedules
SET next_fire_at = $3, last_fire_at = coalesce($4, last_fire_at), updated_at = $5
WHERE id = $1 AND next_fire_at = $2 AND paused = 0
RETURNING target_kind, target, payload::text)sql";

std::optional<ScheduleRecord> first(const Result& r) {
  if (r.rows() == 0) return std::nullopt;
  return backend::read_schedule(PgRow(r, 0));
}

}  // namespace

ScheduleRecord PostgresBackend::create_schedule(const backend::NewSchedule& n, TimePoint now) {
  return exec_.transaction("create_schedule", [&](Session& s) {
    if (n.target_kind == ScheduleTarget::kQueue) {
      if (s.exec(sql_(kQueueExists), Params().text(n.target)).rows() == 0) {
        queue_not_found(n.target);
      }
    } else if (s.exec(sql_(kWorkflowExists), Params().text(n.target)).rows() == 0) {
      throw ValidationError("trigger: workflow '" + n.target + "' is not registered");
    }
    Params p;
    p.text(n.name);
    if (n.cron) {
      p.text(*n.cron);
    } else {
      p.null(kTextOid);
    }
    p.optional_int8(n.every_us)
        .text(n.time_zone)
        .text(backend::target_kind_text(n.target_kind))
        .text(n.target)
        .jsonb(n.payload)
        .text(to_string(n.catch_up))
        .time(n.next_fire_at)
        .time(now);
    if (s.exec(sql_(kInsert), p).rows() == 0) {
      throw ConflictError("schedule '" + n.name + "' already exists");
    }
    return *first(s.exec(sql_(kByName), Params().text(n.name)));
  });
}

std::optional<ScheduleRecord> PostgresBackend::find_schedule(std::string_view name) {
  return exec_.read("find_schedule",
                    [&](Session& s) { return first(s.exec(sql_(kByName), Params().text(name))); });
}

std::vector<ScheduleRecord> PostgresBackend::list_schedules() {
  return exec_.read("list_schedules", [&](Session& s) {
    auto r = s.exec(sql_(kAll), Params());
    std::vector<ScheduleRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_schedule(PgRow(r, i)));
    return out;
  });
}

std::optional<ScheduleRecord> PostgresBackend::set_schedule_state(std::string_view name,
                                                                  bool paused,
                                                                  TimePoint next_fire_at,
                                                                  TimePoint now) {
  return exec_.write("set_schedule_state", [&](Session& s) {
    return first(s.exec(sql_(kSetState),
                        Params().text(name).int4(paused ? 1 : 0).time(next_fire_at).time(now)));
  });
}

bool PostgresBackend::delete_schedule(std::string_view name) {
  return exec_.write("delete_schedule", [&](Session& s) {
    return s.exec(sql_(kDelete), Params().text(name)).affected() > 0;
  });
}

std::vector<ScheduleRecord> PostgresBackend::due_schedules(TimePoint now, std::uint32_t limit) {
  return exec_.read("due_schedules", [&](Session& s) {
    auto r = s.exec(sql_(kDue), Params().time(now).int8(limit));
    std::vector<ScheduleRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_schedule(PgRow(r, i)));
    return out;
  });
}

bool PostgresBackend::fire_schedule(std::int64_t id, TimePoint expected,
                                    const std::vector<TimePoint>& ticks, TimePoint next,
                                    TimePoint now) {
  return exec_.transaction("fire_schedule", [&](Session& s) {
    Params claim;
    claim.int8(id).time(expected).time(next);
    if (ticks.empty()) {
      claim.null(kTimestamptzOid);
    } else {
      claim.time(ticks.back());
    }
    claim.time(now);
    auto r = s.exec(sql_(kClaim), claim);
    if (r.rows() == 0) return false;
    const std::string kind = r.text(0, 0), target = r.text(0, 1), payload = r.text(0, 2);
    for (TimePoint tick : ticks) {
      if (kind == "queue") {
        backend::EnqueueParams p;
        p.queue = target;
        p.payloads = {payload};
        p.visible_at = tick;
        p.now = tick;
        enqueue_result(s.exec(sql_(kEnqueue), enqueue_params(p, channel_, NotifyIn::kStatement)),
                       p);
      } else {
        trigger_in(s, NotifyIn::kStatement, target, payload, tick);
      }
    }
    return true;
  });
}

}  // namespace pgqrs::pg
