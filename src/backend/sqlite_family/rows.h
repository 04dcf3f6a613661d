// Row mapping for the SQLite family: the column lists every SELECT uses and the functions
// that turn a row of those columns into a pgqrs record. A column list and its reader are
// kept side by side here so they cannot drift apart.
//
// Storage conventions: times are INTEGER microseconds since the Unix epoch (time_codec.h);
// payloads and workflow input/output/error are TEXT holding serialised JSON; worker
// status/kind and workflow run/step statuses are their to_string() text.
#pragma once

#include <cstdint>

#include "backend/sqlite_family/session.h"
#include "pgqrs/records.h"
#include "pgqrs/workflow.h"

// String-literal macros (not constants) so they concatenate into constant SQL at compile
// time: "SELECT " PGQRS_SQL_MESSAGE_COLUMNS " FROM pgqrs_messages ...".
#define PGQRS_SQL_QUEUE_COLUMNS "id, queue_name, created_at"
#define PGQRS_SQL_MESSAGE_COLUMNS                                                      \
  "id, queue_id, payload, vt, enqueued_at, read_ct, dequeued_at, producer_worker_id, " \
  "consumer_worker_id, archived_at, dead_at"
#define PGQRS_SQL_WORKER_COLUMNS \
  "id, name, kind, queue_id, hostname, pid, status, started_at, heartbeat_at, shutdown_at"
#define PGQRS_SQL_WORKFLOW_COLUMNS "id, name, queue_id, created_at"
// Runs carry their workflow's name: select them with PGQRS_SQL_SELECT_RUNS (alias r for the
// run, w for its workflow) and read them with read_run().
#define PGQRS_SQL_SELECT_RUNS                                                                \
  "SELECT r.id, r.workflow_id, w.name, r.message_id, r.status, r.input, r.output, r.error, " \
  "r.created_at, r.updated_at FROM pgqrs_workflow_runs r JOIN pgqrs_workflows w ON w.id = "  \
  "r.workflow_id"
#define PGQRS_SQL_STEP_COLUMNS                                                               \
  "id, run_id, step_name, status, input, output, error, retry_at, retry_count, created_at, " \
  "updated_at"

namespace pgqrs::sqlite_family {

// Readers for the current row of `q`, whose columns are exactly the list above.
QueueInfo read_queue(Query& q);
// Throws SerializationError if the stored payload is not valid JSON.
QueueMessage read_message(Query& q);
// Throws InternalError if the stored status/kind text is unknown.
WorkerInfo read_worker(Query& q);
WorkflowRecord read_workflow(Query& q);
// Throw SerializationError if a stored JSON column does not parse, InternalError if the
// stored status text is unknown.
RunRecord read_run(Query& q);
StepRecord read_step(Query& q);

}  // namespace pgqrs::sqlite_family
