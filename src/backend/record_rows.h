// The record layer shared by every SQL backend: the column lists each SELECT / RETURNING of a
// record uses, and the functions that turn one row of those columns into a pgqrs record.
// A column list and its reader sit side by side here so they cannot drift apart; each driver
// supplies only a RowReader, the column accessor over its own result format.
//
// Stored forms (the same in every backend): payloads and workflow input/output/error are
// JSON, worker status/kind and run/step statuses are their to_string() text.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgqrs/clock.h"
#include "pgqrs/records.h"
#include "pgqrs/workflow.h"

// String-literal macros so they concatenate into constant SQL at compile time:
// "SELECT " PGQRS_MESSAGE_COLUMNS " FROM pgqrs_messages ...".
// Queue options (flow control): NULL = unset; durations in microseconds.
#define PGQRS_QUEUE_COLUMNS                                                                    \
  "id, queue_name, created_at, concurrency, worker_concurrency, key_concurrency, rate_limit, " \
  "rate_period_us, retain_archived_us, retain_dead_us"
#define PGQRS_MESSAGE_COLUMNS                                                                     \
  "id, queue_id, payload, vt, enqueued_at, read_ct, dequeued_at, producer_worker_id, "            \
  "consumer_worker_id, archived_at, dead_at, priority, dedup_key, concurrency_key, traceparent, " \
  "tracestate"
#define PGQRS_WORKER_COLUMNS \
  "id, name, kind, queue_id, hostname, pid, status, started_at, heartbeat_at, shutdown_at"
#define PGQRS_WORKFLOW_COLUMNS "id, name, queue_id, created_at"
// Runs carry their workflow's name: select them from pgqrs_workflow_runs r JOIN
// pgqrs_workflows w ON w.id = r.workflow_id.
#define PGQRS_RUN_COLUMNS                                                             \
  "r.id, r.workflow_id, w.name, r.message_id, r.status, r.input, r.output, r.error, " \
  "r.created_at, r.updated_at"
#define PGQRS_STEP_COLUMNS                                                                   \
  "id, run_id, step_name, status, input, output, error, retry_at, retry_count, created_at, " \
  "updated_at"

namespace pgqrs::backend {

inline constexpr int kMessageColumnCount = 16;

// Read access to the columns of one result row, by index (0 = the first column of the
// record's list, whatever precedes it in the SELECT). Integer columns of any width read as
// int64; JSON columns read as their text.
class RowReader {
 public:
  virtual bool is_null(int col) const = 0;
  virtual std::int64_t int64(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual TimePoint time(int col) const = 0;

  std::uint64_t count(int col) const { return static_cast<std::uint64_t>(int64(col)); }
  std::optional<std::int64_t> optional_int64(int col) const {
    if (is_null(col)) return std::nullopt;
    return int64(col);
  }
  std::optional<TimePoint> optional_time(int col) const {
    if (is_null(col)) return std::nullopt;
    return time(col);
  }

 protected:
  ~RowReader() = default;
};

// now - stored, never negative, with `now` first truncated to whole microseconds as stored
// times are (so a row written at `now` has age 0).
std::chrono::milliseconds age_at(TimePoint now, TimePoint stored);

QueueInfo read_queue(const RowReader& row);
// The stored form of QueueOptions: the 7 option columns of PGQRS_QUEUE_COLUMNS, in order
// (NULL = unset). Written by create_queue / update_queue_options of every backend.
struct StoredQueueOptions {
  std::optional<std::int64_t> concurrency, worker_concurrency, key_concurrency, rate_limit,
      rate_period_us, retain_archived_us, retain_dead_us;
};
StoredQueueOptions stored_options(const QueueOptions& o);
// Reads the 7 option columns starting at `first`.
QueueOptions read_queue_options(const RowReader& row, int first);
// SerializationError if the stored payload is not valid JSON.
QueueMessage read_message(const RowReader& row);
// InternalError if the stored status/kind text is unknown.
WorkerInfo read_worker(const RowReader& row);
WorkflowRecord read_workflow(const RowReader& row);
// SerializationError if a stored JSON column does not parse, InternalError if the stored
// status text is unknown.
RunRecord read_run(const RowReader& row);
StepRecord read_step(const RowReader& row);
// The record of a worker just inserted as `id` by register_worker (status ready, started and
// heartbeating at `now` as stored: whole microseconds), without reading it back.
WorkerInfo registered_worker(std::int64_t id, std::optional<std::int64_t> queue_id,
                             std::string_view name, WorkerKind kind, std::string_view hostname,
                             std::int64_t pid, TimePoint now);
// A queue's metrics row: queue id, queue name, then the counts pending, delayed, leased,
// archived, dead, then the oldest pending message's visible-at time (NULL when none).
// `now` is the time the counts describe (the age is measured from it, never negative).
QueueMetrics read_queue_metrics(const RowReader& row, TimePoint now);
// Column `col` parsed as JSON; nullopt when NULL. SerializationError naming `what` when the
// stored text is not valid JSON.
std::optional<json> optional_json(const RowReader& row, int col, const std::string& what);
// A stored run/step status text; InternalError naming `what` when it is unknown.
WorkflowStatus parse_stored_status(const std::string& text, const std::string& what);

}  // namespace pgqrs::backend
