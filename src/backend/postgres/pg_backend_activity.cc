// PostgresBackend: activity counts (workers, runs, step retries) for metrics endpoints.
// Each query is one GROUP BY over an indexed table; see backend/activity_rows.h for the
// shared mapping.
#include "backend/activity_rows.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"

namespace pgqrs::pg {
namespace {

constexpr char kWorkers[] = R"sql(
SELECT q.queue_name, w.status, count(*), min(w.heartbeat_at)
FROM {s}.pgqrs_workers w LEFT JOIN {s}.pgqrs_queues q ON q.id = w.queue_id
GROUP BY q.queue_name, w.status)sql";

constexpr char kRuns[] = R"sql(
SELECT wf.name, r.status, count(*)
FROM {s}.pgqrs_workflow_runs r JOIN {s}.pgqrs_workflows wf ON wf.id = r.workflow_id
GROUP BY wf.name, r.status)sql";

// Every workflow, with 0 when none of its steps was retried (a stable series); only the
// steps that were retried are joined to their runs.
constexpr char kStepRetries[] = R"sql(
SELECT wf.name, coalesce(x.retries, 0)
FROM {s}.pgqrs_workflows wf
LEFT JOIN (SELECT r.workflow_id, sum(st.retry_count) AS retries
           FROM {s}.pgqrs_workflow_steps st JOIN {s}.pgqrs_workflow_runs r ON r.id = st.run_id
           WHERE st.retry_count > 0
           GROUP BY r.workflow_id) x ON x.workflow_id = wf.id)sql";

}  // namespace

ActivityMetrics PostgresBackend::activity_metrics(TimePoint now) {
  return exec_.read("activity_metrics", [&](Session& s) {
    ActivityMetrics m;
    auto w = s.exec(sql_(kWorkers), Params());
    for (int i = 0; i < w.rows(); ++i)
      m.workers.push_back(backend::read_worker_state_count(PgRow(w, i), now));
    auto r = s.exec(sql_(kRuns), Params());
    for (int i = 0; i < r.rows(); ++i)
      m.runs.push_back(backend::read_run_status_count(PgRow(r, i)));
    auto t = s.exec(sql_(kStepRetries), Params());
    for (int i = 0; i < t.rows(); ++i)
      m.step_retries.push_back(backend::read_step_retry_total(PgRow(t, i)));
    backend::sort_activity(m);
    return m;
  });
}

}  // namespace pgqrs::pg
