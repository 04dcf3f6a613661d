// SqlFamilyBackend: app versions (contracts in backend/capabilities/workflows.h).
#include "backend/sqlite_family/sql_backend.h"

#include "backend/record_rows.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kStrandedRuns[] = R"sql(
SELECT r.id, w.name, r.app_version, r.status
FROM pgqrs_workflow_runs r JOIN pgqrs_workflows w ON w.id = r.workflow_id
WHERE r.status IN ('QUEUED', 'RUNNING', 'PAUSED') AND r.app_version IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM pgqrs_workers k
    WHERE k.queue_id = w.queue_id AND k.status IN ('ready', 'polling') AND k.heartbeat_at >= ?1
      AND (k.app_version IS NULL OR k.app_version = r.app_version))
ORDER BY r.id LIMIT ?2)sql";

// ?1 to (NULL: unversioned), ?2 from (NULL: any; '': unversioned), ?3 workflow (NULL: any),
// ?4 now.
constexpr char kMigrateRuns[] = R"sql(
UPDATE pgqrs_workflow_runs SET app_version = ?1, updated_at = ?4
WHERE status IN ('QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING')
  AND (?2 IS NULL OR COALESCE(app_version, '') = ?2)
  AND (?3 IS NULL OR workflow_id = (SELECT id FROM pgqrs_workflows WHERE name = ?3)))sql";

}  // namespace

std::vector<StrandedRun> SqlFamilyBackend::stranded_runs(TimePoint heartbeat_after,
                                                         std::uint32_t limit) {
  return exec_.read("stranded_runs", [&](Session& s) {
    std::vector<StrandedRun> out;
    auto q = s.query(kStrandedRuns);
    q.bind(heartbeat_after).bind(limit);
    while (q.step()) {
      StrandedRun r;
      r.run_id = q.int64(0);
      r.workflow = q.text(1);
      r.app_version = q.text(2);
      r.status = backend::parse_stored_status(q.text(3), "run " + std::to_string(r.run_id));
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::uint64_t SqlFamilyBackend::migrate_runs(const std::optional<std::string>& from,
                                             const std::optional<std::string>& to,
                                             const std::optional<std::string>& workflow,
                                             TimePoint now) {
  return exec_.write("migrate_runs", [&](Session& s) {
    return static_cast<std::uint64_t>(
        s.query(kMigrateRuns).bind(to).bind(from).bind(workflow).bind(now).execute());
  });
}

}  // namespace pgqrs::sqlite_family
