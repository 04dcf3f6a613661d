// SqlFamilyBackend: activity counts (workers, runs, step retries) for metrics endpoints.
// Each query is one GROUP BY over an indexed table; see backend/activity_rows.h for the
// shared mapping.
#include "backend/activity_rows.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kWorkers[] = R"sql(
SELECT q.queue_name, w.status, COUNT(*), MIN(w.heartbeat_at)
FROM pgqrs_workers w LEFT JOIN pgqrs_queues q ON q.id = w.queue_id
GROUP BY q.queue_name, w.status)sql";

constexpr char kRuns[] = R"sql(
SELECT wf.name, r.status, COUNT(*)
FROM pgqrs_workflow_runs r JOIN pgqrs_workflows wf ON wf.id = r.workflow_id
GROUP BY wf.name, r.status)sql";

// Every workflow, with 0 when none of its steps was retried (a stable series); only the
// steps that were retried are joined to their runs.
constexpr char kStepRetries[] = R"sql(
SELECT wf.name, COALESCE(x.retries, 0)
FROM pgqrs_workflows wf
LEFT JOIN (SELECT r.workflow_id, SUM(st.retry_count) AS retries
           FROM pgqrs_workflow_steps st JOIN pgqrs_workflow_runs r ON r.id = st.run_id
           WHERE st.retry_count > 0
           GROUP BY r.workflow_id) x ON x.workflow_id = wf.id)sql";

}  // namespace

ActivityMetrics SqlFamilyBackend::activity_metrics(TimePoint now) {
  return exec_.read("activity_metrics", [&](Session& s) {
    ActivityMetrics m;
    {
      auto q = s.query(kWorkers);
      while (q.step()) m.workers.push_back(backend::read_worker_state_count(QueryRow(q), now));
    }
    {
      auto q = s.query(kRuns);
      while (q.step()) m.runs.push_back(backend::read_run_status_count(QueryRow(q)));
    }
    auto q = s.query(kStepRetries);
    while (q.step()) m.step_retries.push_back(backend::read_step_retry_total(QueryRow(q)));
    backend::sort_activity(m);
    return m;
  });
}

}  // namespace pgqrs::sqlite_family
