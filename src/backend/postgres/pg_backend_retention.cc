// PostgresBackend: retention (capabilities/retention.h). Each delete is one autocommit
// statement of at most `limit` rows (served by the partial indexes of the
// schedules-and-retention migration), so consumers never wait behind a long prune.
#include <string>

#include "backend/postgres/archived_counts_sql.h"
#include "backend/postgres/pg_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// Victims: $1 queue name, $2 before (or now for runs), $3 limit (NULL: all).
#define PGQRS_PG_QUEUE_ID "(SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1)"
constexpr char kArchivedVictims[] =
    "SELECT id FROM {s}.pgqrs_messages WHERE queue_id = " PGQRS_PG_QUEUE_ID
    " AND archived_at < $2 ORDER BY archived_at LIMIT $3";
constexpr char kDeadVictims[] =
    "SELECT id FROM {s}.pgqrs_messages WHERE queue_id = " PGQRS_PG_QUEUE_ID
    " AND dead_at < $2 AND archived_at IS NULL ORDER BY dead_at LIMIT $3";
constexpr char kRunVictims[] = R"sql(
SELECT r.id FROM {s}.pgqrs_workflow_runs r JOIN {s}.pgqrs_workflows w ON w.id = r.workflow_id
WHERE w.queue_id = )sql" PGQRS_PG_QUEUE_ID R"sql( AND w.retain_finished_us IS NOT NULL
  AND r.status IN ('SUCCESS', 'ERROR', 'CANCELLED')
  AND r.updated_at < $2 - make_interval(secs => w.retain_finished_us / 1000000.0)
ORDER BY r.updated_at LIMIT $3)sql";
constexpr char kQueueExists[] = "SELECT EXISTS " PGQRS_PG_QUEUE_ID;
#undef PGQRS_PG_QUEUE_ID

constexpr char kSetRetention[] =
    "UPDATE {s}.pgqrs_workflows SET retain_finished_us = $2 WHERE name = $1";
constexpr char kGetRetention[] =
    "SELECT retain_finished_us FROM {s}.pgqrs_workflows WHERE name = $1";
constexpr char kAcquire[] = R"sql(
INSERT INTO {s}.pgqrs_maintenance_leases AS l (name, holder, lease_until) VALUES ($1, $2, $4)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
WHERE l.holder = excluded.holder OR l.lease_until <= $3
RETURNING 1)sql";
constexpr char kRelease[] =
    "DELETE FROM {s}.pgqrs_maintenance_leases WHERE name = $1 AND holder = $2";

std::string victims(backend::PruneKind kind) {
  switch (kind) {
    case backend::PruneKind::kArchived:
      return kArchivedVictims;
    case backend::PruneKind::kDead:
      return kDeadVictims;
    case backend::PruneKind::kFinishedRuns:
      return kRunVictims;
  }
  return kArchivedVictims;
}

// What the DELETE re-checks on the newest version of a victim ($2: the cut-off).
const char* recheck(backend::PruneKind kind) {
  switch (kind) {
    case backend::PruneKind::kArchived:
      return "archived_at < $2";
    case backend::PruneKind::kDead:
      return "dead_at < $2 AND archived_at IS NULL";
    case backend::PruneKind::kFinishedRuns:
      return "status IN ('SUCCESS', 'ERROR', 'CANCELLED')";
  }
  return "false";
}

// Deleting archived messages takes them off the queue's archived counter in the same statement.
std::string delete_sql(backend::PruneKind kind) {
  const bool runs = kind == backend::PruneKind::kFinishedRuns;
  const char* table = runs ? "{s}.pgqrs_workflow_runs" : "{s}.pgqrs_messages";
  const char* returning = runs ? "1" : "queue_id, archived_at";
  const char* uncount =
      kind == backend::PruneKind::kArchived ? ", " PGQRS_PG_UNCOUNT_ARCHIVED("d") : "";
  // The victims are not locked first: locking writes every row (and its WAL) a second
  // time, and nothing else locks old archived rows; a row changed meanwhile (a dead letter
  // replayed) is re-checked by the DELETE and kept.
  return "WITH d AS (DELETE FROM " + std::string(table) + " WHERE id = ANY (ARRAY(" +
         victims(kind) + ")) AND " + recheck(kind) + " RETURNING " + returning + ")" + uncount +
         " SELECT count(*) FROM d";
}

}  // namespace

std::uint64_t PostgresBackend::delete_old(backend::PruneKind kind, std::string_view queue,
                                          TimePoint before, TimePoint now, std::uint32_t limit) {
  // The statement texts are built once per kind (the cache keys them by text).
  static const std::string kDelete[] = {delete_sql(backend::PruneKind::kArchived),
                                        delete_sql(backend::PruneKind::kDead),
                                        delete_sql(backend::PruneKind::kFinishedRuns)};
  if (!find_queue(queue)) queue_not_found(queue);
  return exec_.write("prune", [&](Session& s) {
    const TimePoint t = kind == backend::PruneKind::kFinishedRuns ? now : before;
    auto r = s.exec(sql_(kDelete[static_cast<int>(kind)].c_str()),
                    Params().text(queue).time(t).int8(limit));
    return static_cast<std::uint64_t>(r.int8(0, 0));
  });
}

std::uint64_t PostgresBackend::count_old(backend::PruneKind kind, std::string_view queue,
                                         TimePoint before, TimePoint now) {
  static const std::string kCount[] = {
      "SELECT count(*) FROM (" + victims(backend::PruneKind::kArchived) + ") v",
      "SELECT count(*) FROM (" + victims(backend::PruneKind::kDead) + ") v",
      "SELECT count(*) FROM (" + victims(backend::PruneKind::kFinishedRuns) + ") v"};
  return exec_.read("count_old", [&](Session& s) {
    if (!s.exec(sql_(kQueueExists), Params().text(queue)).boolean(0, 0)) queue_not_found(queue);
    const TimePoint t = kind == backend::PruneKind::kFinishedRuns ? now : before;
    auto r = s.exec(sql_(kCount[static_cast<int>(kind)].c_str()),
                    Params().text(queue).time(t).null(kInt8Oid));
    return static_cast<std::uint64_t>(r.int8(0, 0));
  });
}

bool PostgresBackend::set_workflow_retention(std::string_view workflow,
                                             std::optional<std::int64_t> retain_finished_us) {
  return exec_.write("set_workflow_retention", [&](Session& s) {
    return s.exec(sql_(kSetRetention), Params().text(workflow).optional_int8(retain_finished_us))
               .affected() > 0;
  });
}

std::optional<std::int64_t> PostgresBackend::workflow_retention(std::string_view workflow) {
  return exec_.read("workflow_retention", [&](Session& s) -> std::optional<std::int64_t> {
    auto r = s.exec(sql_(kGetRetention), Params().text(workflow));
    if (r.rows() == 0) {
      throw ValidationError("workflow '" + std::string(workflow) + "' is not registered");
    }
    if (r.is_null(0, 0)) return std::nullopt;
    return r.int8(0, 0);
  });
}

bool PostgresBackend::acquire_lease(std::string_view name, std::string_view holder, TimePoint now,
                                    TimePoint until) {
  return exec_.write("acquire_lease", [&](Session& s) {
    return s.exec(sql_(kAcquire), Params().text(name).text(holder).time(now).time(until)).rows() >
           0;
  });
}

void PostgresBackend::release_lease(std::string_view name, std::string_view holder) {
  exec_.write("release_lease",
              [&](Session& s) { s.exec(sql_(kRelease), Params().text(name).text(holder)); });
}

}  // namespace pgqrs::pg
