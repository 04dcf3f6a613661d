#include "backend/activity_rows.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "pgqrs/error.h"

namespace pgqrs::backend {

WorkerStateCount read_worker_state_count(const RowReader& row, TimePoint now) {
  WorkerStateCount c;
  if (!row.is_null(0)) c.queue_name = row.text(0);
  const std::string status = row.text(1);
  const auto parsed = parse_worker_status(status);
  if (!parsed) throw InternalError("activity_metrics: unknown worker status '" + status + "'");
  c.status = *parsed;
  c.count = row.count(2);
  if (auto oldest = row.optional_time(3)) c.oldest_heartbeat_age = backend::age_at(now, *oldest);
  return c;
}

RunStatusCount read_run_status_count(const RowReader& row) {
  RunStatusCount c;
  c.workflow_name = row.text(0);
  const std::string status = row.text(1);
  const auto parsed = parse_workflow_status(status);
  if (!parsed) throw InternalError("activity_metrics: unknown run status '" + status + "'");
  c.status = *parsed;
  c.count = row.count(2);
  return c;
}

StepRetryTotal read_step_retry_total(const RowReader& row) {
  return StepRetryTotal{row.text(0), row.is_null(1) ? 0 : row.count(1)};
}

void sort_activity(ActivityMetrics& m) {
  std::sort(m.workers.begin(), m.workers.end(), [](const auto& a, const auto& b) {
    return std::tie(a.queue_name, a.status) < std::tie(b.queue_name, b.status);
  });
  std::sort(m.runs.begin(), m.runs.end(), [](const auto& a, const auto& b) {
    return std::tie(a.workflow_name, a.status) < std::tie(b.workflow_name, b.status);
  });
  std::sort(m.step_retries.begin(), m.step_retries.end(),
            [](const auto& a, const auto& b) { return a.workflow_name < b.workflow_name; });
}

}  // namespace pgqrs::backend
