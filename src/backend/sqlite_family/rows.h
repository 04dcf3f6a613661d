// Row mapping for the SQLite family: the column lists every SELECT uses and the functions
// that turn a row of those columns into a pgqrs record. A column list and its reader are
// kept side by side here so they cannot drift apart.
//
// Storage conventions: times are INTEGER microseconds since the Unix epoch (time_codec.h);
// payloads are TEXT holding serialised JSON; worker status/kind are their to_string() text.
#pragma once

#include <cstdint>

#include "backend/sqlite_family/session.h"
#include "pgqrs/records.h"

// String-literal macros (not constants) so they concatenate into constant SQL at compile
// time: "SELECT " PGQRS_SQL_MESSAGE_COLUMNS " FROM pgqrs_messages ...".
#define PGQRS_SQL_QUEUE_COLUMNS "id, queue_name, created_at"
#define PGQRS_SQL_MESSAGE_COLUMNS                                                      \
  "id, queue_id, payload, vt, enqueued_at, read_ct, dequeued_at, producer_worker_id, " \
  "consumer_worker_id, archived_at, dead_at"
#define PGQRS_SQL_WORKER_COLUMNS \
  "id, name, kind, queue_id, hostname, pid, status, started_at, heartbeat_at, shutdown_at"

namespace pgqrs::sqlite_family {

// Readers for the current row of `q`, whose columns are exactly the list above.
QueueInfo read_queue(Query& q);
// Throws SerializationError if the stored payload is not valid JSON.
QueueMessage read_message(Query& q);
// Throws InternalError if the stored status/kind text is unknown.
WorkerInfo read_worker(Query& q);

}  // namespace pgqrs::sqlite_family
