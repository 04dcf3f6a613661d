// The row -> record mapping of MetricsStore::activity_metrics, shared by every backend (each
// dialect writes only its SQL; see pg_backend_activity.cc, sql_backend_activity.cc).
#pragma once

#include "backend/record_rows.h"
#include "pgqrs/activity.h"

namespace pgqrs::backend {

// Columns: queue_name (NULL for workers bound to no queue), status text, count, oldest
// heartbeat_at. InternalError for an unknown status text.
WorkerStateCount read_worker_state_count(const RowReader& row, TimePoint now);
// Columns: workflow name, status text, count. InternalError for an unknown status text.
RunStatusCount read_run_status_count(const RowReader& row);
// Columns: workflow name, sum of retry_count (NULL reads as 0).
StepRetryTotal read_step_retry_total(const RowReader& row);
// Orders the lists as pgqrs/activity.h promises (independent of each database's collation).
void sort_activity(ActivityMetrics& m);

}  // namespace pgqrs::backend
