// Row mapping for the Postgres backend: the column lists every SELECT / RETURNING uses and
// the functions that turn such a row into a pgqrs record, side by side so they cannot drift.
// Columns arrive in binary (pq.h): ids int8, read_ct int4, payload jsonb, times timestamptz,
// worker status/kind as their to_string() text.
#pragma once

#include "backend/postgres/pq.h"
#include "pgqrs/records.h"

// String-literal macros so they concatenate into constant SQL at compile time.
#define PGQRS_PG_QUEUE_COLUMNS "id, queue_name, created_at"
#define PGQRS_PG_MESSAGE_COLUMNS                                                       \
  "id, queue_id, payload, vt, enqueued_at, read_ct, dequeued_at, producer_worker_id, " \
  "consumer_worker_id, archived_at, dead_at"
#define PGQRS_PG_WORKER_COLUMNS \
  "id, name, kind, queue_id, hostname, pid, status, started_at, heartbeat_at, shutdown_at"

namespace pgqrs::pg {

inline constexpr int kMessageColumnCount = 11;

// Readers for row `row` of `r`, whose columns from `first` on are exactly a list above.
QueueInfo read_queue(const Result& r, int row, int first = 0);
// Throws SerializationError if the stored payload is not valid JSON.
QueueMessage read_message(const Result& r, int row, int first = 0);
// Throws InternalError if the stored status/kind text is unknown.
WorkerInfo read_worker(const Result& r, int row, int first = 0);

}  // namespace pgqrs::pg
