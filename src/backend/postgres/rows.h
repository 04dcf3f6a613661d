// Row mapping for the Postgres backend: the column lists every SELECT / RETURNING uses and
// the functions that turn such a row into a pgqrs record, side by side so they cannot drift.
// Columns arrive in binary (pq.h): ids int8, read_ct int4, payload jsonb, times timestamptz,
// worker status/kind as their to_string() text.
#pragma once

#include "backend/postgres/pq.h"
#include "pgqrs/records.h"
#include "pgqrs/workflow.h"

// String-literal macros so they concatenate into constant SQL at compile time.
#define PGQRS_PG_QUEUE_COLUMNS "id, queue_name, created_at"
#define PGQRS_PG_MESSAGE_COLUMNS                                                       \
  "id, queue_id, payload, vt, enqueued_at, read_ct, dequeued_at, producer_worker_id, " \
  "consumer_worker_id, archived_at, dead_at"
#define PGQRS_PG_WORKER_COLUMNS \
  "id, name, kind, queue_id, hostname, pid, status, started_at, heartbeat_at, shutdown_at"
#define PGQRS_PG_WORKFLOW_COLUMNS "id, name, queue_id, created_at"
// Runs carry their workflow's name: select them with PGQRS_PG_SELECT_RUNS (alias r for the
// run, w for its workflow) and read them with read_run().
#define PGQRS_PG_RUN_COLUMNS                                                          \
  "r.id, r.workflow_id, w.name, r.message_id, r.status, r.input, r.output, r.error, " \
  "r.created_at, r.updated_at"
#define PGQRS_PG_SELECT_RUNS                                    \
  "SELECT " PGQRS_PG_RUN_COLUMNS                                \
  " FROM {s}.pgqrs_workflow_runs r JOIN {s}.pgqrs_workflows w " \
  "ON w.id = r.workflow_id"
#define PGQRS_PG_STEP_COLUMNS                                                                \
  "id, run_id, step_name, status, input, output, error, retry_at, retry_count, created_at, " \
  "updated_at"

namespace pgqrs::pg {

inline constexpr int kMessageColumnCount = 11;

// Readers for row `row` of `r`, whose columns from `first` on are exactly a list above.
QueueInfo read_queue(const Result& r, int row, int first = 0);
// Throws SerializationError if the stored payload is not valid JSON.
QueueMessage read_message(const Result& r, int row, int first = 0);
// Throws InternalError if the stored status/kind text is unknown.
WorkerInfo read_worker(const Result& r, int row, int first = 0);
// Workflow records (PGQRS_PG_WORKFLOW_COLUMNS / _RUN_COLUMNS / _STEP_COLUMNS). Throw
// InternalError for an unknown status text, SerializationError for unparsable JSON.
WorkflowRecord read_workflow(const Result& r, int row, int first = 0);
RunRecord read_run(const Result& r, int row, int first = 0);
StepRecord read_step(const Result& r, int row, int first = 0);

}  // namespace pgqrs::pg
