// SqlFamilyBackend: retention (capabilities/retention.h). Each delete is one short
// BEGIN IMMEDIATE transaction of at most `limit` rows, served by the partial indexes of the
// schedules-and-retention migration.
#include <string>

#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

// ?1 queue id, ?2 before, ?3 limit.
constexpr char kOldArchived[] =
    "SELECT id FROM pgqrs_messages WHERE queue_id = ?1 AND archived_at IS NOT "
    "NULL AND archived_at < ?2 ORDER BY archived_at LIMIT ?3";
constexpr char kOldDead[] =
    "SELECT id FROM pgqrs_messages WHERE queue_id = ?1 AND dead_at IS NOT NULL "
    "AND archived_at IS NULL AND dead_at < ?2 ORDER BY dead_at LIMIT ?3";
// ?1 queue id of the workflow, ?2 now, ?3 limit.
constexpr char kOldRuns[] = R"sql(
SELECT r.id FROM pgqrs_workflow_runs r JOIN pgqrs_workflows w ON w.id = r.workflow_id
WHERE w.retain_finished_us IS NOT NULL AND w.queue_id = ?1
  AND r.status IN ('SUCCESS', 'ERROR', 'CANCELLED') AND r.updated_at < ?2 - w.retain_finished_us
ORDER BY r.updated_at LIMIT ?3)sql";

constexpr char kSetRetention[] =
    "UPDATE pgqrs_workflows SET retain_finished_us = ?2 WHERE name = ?1";
constexpr char kGetRetention[] = "SELECT retain_finished_us FROM pgqrs_workflows WHERE name = ?1";
constexpr char kAcquire[] = R"sql(
INSERT INTO pgqrs_maintenance_leases (name, holder, lease_until) VALUES (?1, ?2, ?4)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
WHERE pgqrs_maintenance_leases.holder = excluded.holder
   OR pgqrs_maintenance_leases.lease_until <= ?3)sql";
constexpr char kRelease[] = "DELETE FROM pgqrs_maintenance_leases WHERE name = ?1 AND holder = ?2";

const char* select_for(backend::PruneKind kind) {
  switch (kind) {
    case backend::PruneKind::kArchived:
      return kOldArchived;
    case backend::PruneKind::kDead:
      return kOldDead;
    case backend::PruneKind::kFinishedRuns:
      return kOldRuns;
  }
  return kOldArchived;
}

std::int64_t queue_filter(Session& s, std::string_view queue) { return require_queue_id(s, queue); }

}  // namespace

std::uint64_t SqlFamilyBackend::delete_old(backend::PruneKind kind, std::string_view queue,
                                           TimePoint before, TimePoint now, std::uint32_t limit) {
  return exec_.write("prune", [&](Session& s) {
    const auto queue_id = queue_filter(s, queue);
    std::vector<std::int64_t> ids;
    {
      auto q = s.query(select_for(kind));
      q.bind(queue_id);
      if (kind == backend::PruneKind::kFinishedRuns) {
        q.bind(now);
      } else {
        q.bind(before);
      }
      q.bind(limit);
      while (q.step()) ids.push_back(q.int64(0));
    }
    const char* del = kind == backend::PruneKind::kFinishedRuns
                          ? "DELETE FROM pgqrs_workflow_runs WHERE id = ?1"
                          : "DELETE FROM pgqrs_messages WHERE id = ?1";
    if (kind == backend::PruneKind::kArchived && !ids.empty()) {
      // The victims are archived rows of this queue: off its counter, same transaction (W8).
      s.query("UPDATE pgqrs_archived_counts SET n = n - ?2 WHERE queue_id = ?1 AND stripe = 0")
          .bind(queue_id)
          .bind(static_cast<std::int64_t>(ids.size()))
          .execute();
    }
    for (std::int64_t id : ids) s.query(del).bind(id).execute();
    return static_cast<std::uint64_t>(ids.size());
  });
}

std::uint64_t SqlFamilyBackend::count_old(backend::PruneKind kind, std::string_view queue,
                                          TimePoint before, TimePoint now) {
  return exec_.read("count_old", [&](Session& s) {
    const auto queue_id = queue_filter(s, queue);
    const std::string sql = "SELECT count(*) FROM (" + std::string(select_for(kind)) + ")";
    auto q = s.query(sql);
    q.bind(queue_id);
    if (kind == backend::PruneKind::kFinishedRuns) {
      q.bind(now);
    } else {
      q.bind(before);
    }
    q.bind(std::int64_t{-1});  // LIMIT -1: no limit
    q.step();
    return static_cast<std::uint64_t>(q.int64(0));
  });
}

bool SqlFamilyBackend::set_workflow_retention(std::string_view workflow,
                                              std::optional<std::int64_t> retain_finished_us) {
  return exec_.write("set_workflow_retention", [&](Session& s) {
    return s.query(kSetRetention).bind(workflow).bind(retain_finished_us).execute() > 0;
  });
}

std::optional<std::int64_t> SqlFamilyBackend::workflow_retention(std::string_view workflow) {
  return exec_.read("workflow_retention", [&](Session& s) -> std::optional<std::int64_t> {
    auto q = s.query(kGetRetention);
    q.bind(workflow);
    if (!q.step())
      throw ValidationError("workflow '" + std::string(workflow) + "' is not registered");
    return q.optional_int64(0);
  });
}

bool SqlFamilyBackend::acquire_lease(std::string_view name, std::string_view holder, TimePoint now,
                                     TimePoint until) {
  return exec_.write("acquire_lease", [&](Session& s) {
    return s.query(kAcquire).bind(name).bind(holder).bind(now).bind(until).execute() > 0;
  });
}

void SqlFamilyBackend::release_lease(std::string_view name, std::string_view holder) {
  exec_.write("release_lease",
              [&](Session& s) { s.query(kRelease).bind(name).bind(holder).execute(); });
}

}  // namespace pgqrs::sqlite_family
