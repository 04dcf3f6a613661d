// PostgresBackend: app versions (contracts in backend/capabilities/workflows.h).
#include "backend/postgres/pg_backend.h"
#include "backend/record_rows.h"

namespace pgqrs::pg {
namespace {

constexpr char kStrandedRuns[] = R"sql(
SELECT r.id, w.name, r.app_version, r.status
FROM {s}.pgqrs_workflow_runs r JOIN {s}.pgqrs_workflows w ON w.id = r.workflow_id
WHERE r.status IN ('QUEUED', 'RUNNING', 'PAUSED') AND r.app_version IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM {s}.pgqrs_workers k
    WHERE k.queue_id = w.queue_id AND k.status IN ('ready', 'polling') AND k.heartbeat_at >= $1
      AND (k.app_version IS NULL OR k.app_version = r.app_version))
ORDER BY r.id LIMIT $2)sql";

// $1 to (NULL: unversioned), $2 from (NULL: any; '': unversioned), $3 workflow (NULL: any),
// $4 now.
constexpr char kMigrateRuns[] = R"sql(
UPDATE {s}.pgqrs_workflow_runs SET app_version = $1, updated_at = $4
WHERE status IN ('QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING')
  AND ($2::text IS NULL OR coalesce(app_version, '') = $2)
  AND ($3::text IS NULL OR workflow_id = (SELECT id FROM {s}.pgqrs_workflows WHERE name = $3)))sql";

}  // namespace

std::vector<StrandedRun> PostgresBackend::stranded_runs(TimePoint heartbeat_after,
                                                        std::uint32_t limit) {
  return exec_.read("stranded_runs", [&](Session& s) {
    auto r = s.exec(sql_(kStrandedRuns), Params().time(heartbeat_after).int8(limit));
    std::vector<StrandedRun> out;
    for (int i = 0; i < r.rows(); ++i) {
      StrandedRun run;
      run.run_id = r.int8(i, 0);
      run.workflow = r.text(i, 1);
      run.app_version = r.text(i, 2);
      run.status = backend::parse_stored_status(r.text(i, 3), "run " + std::to_string(run.run_id));
      out.push_back(std::move(run));
    }
    return out;
  });
}

std::uint64_t PostgresBackend::migrate_runs(const std::optional<std::string>& from,
                                            const std::optional<std::string>& to,
                                            const std::optional<std::string>& workflow,
                                            TimePoint now) {
  return exec_.write("migrate_runs", [&](Session& s) {
    Params p;
    p.optional_text(to).optional_text(from).optional_text(workflow).time(now);
    return static_cast<std::uint64_t>(s.exec(sql_(kMigrateRuns), p).affected());
  });
}

}  // namespace pgqrs::pg
