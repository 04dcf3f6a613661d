#include "backend/record_rows.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::backend {

std::optional<json> optional_json(const RowReader& row, int col, const std::string& what) {
  if (row.is_null(col)) return std::nullopt;
  const std::string text = row.text(col);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw SerializationError(what + " has a stored value that is not valid JSON: " + e.what());
  }
}

namespace {

std::int32_t int32(const RowReader& row, int col) {
  return static_cast<std::int32_t>(row.int64(col));
}

}  // namespace

WorkflowStatus parse_stored_status(const std::string& text, const std::string& what) {
  const auto status = parse_workflow_status(text);
  if (!status) throw InternalError(what + " has unknown status '" + text + "'");
  return *status;
}

QueueInfo read_queue(const RowReader& row) {
  QueueInfo info;
  info.id = row.int64(0);
  info.queue_name = row.text(1);
  info.created_at = row.time(2);
  info.options = read_queue_options(row, 3);
  return info;
}

namespace {
std::optional<std::int64_t> micros(const std::optional<Duration>& d) {
  if (!d) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(*d).count();
}
std::optional<Duration> duration_at(const RowReader& row, int col) {
  if (row.is_null(col)) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::microseconds(row.int64(col)));
}
}  // namespace

StoredQueueOptions stored_options(const QueueOptions& o) {
  StoredQueueOptions s;
  s.concurrency = o.concurrency;
  s.worker_concurrency = o.worker_concurrency;
  s.key_concurrency = o.key_concurrency;
  if (o.rate_limit) {
    s.rate_limit = o.rate_limit->count;
    s.rate_period_us = micros(o.rate_limit->period);
  }
  s.retain_archived_us = micros(o.retain_archived);
  s.retain_dead_us = micros(o.retain_dead);
  return s;
}

QueueOptions read_queue_options(const RowReader& row, int first) {
  QueueOptions o;
  o.concurrency = row.optional_int64(first);
  o.worker_concurrency = row.optional_int64(first + 1);
  o.key_concurrency = row.optional_int64(first + 2);
  if (!row.is_null(first + 3) && !row.is_null(first + 4)) {
    o.rate_limit = RateLimit{row.int64(first + 3), *duration_at(row, first + 4)};
  }
  o.retain_archived = duration_at(row, first + 5);
  o.retain_dead = duration_at(row, first + 6);
  return o;
}

QueueMessage read_message(const RowReader& row) {
  QueueMessage m;
  m.id = row.int64(0);
  m.queue_id = row.int64(1);
  const std::string payload = row.text(2);
  try {
    m.payload = json::parse(payload);
  } catch (const json::exception& e) {
    throw SerializationError("message " + std::to_string(m.id) +
                             " has a stored payload that is not valid JSON: " + e.what());
  }
  m.vt = row.time(3);
  m.enqueued_at = row.time(4);
  m.read_ct = int32(row, 5);
  m.dequeued_at = row.optional_time(6);
  m.producer_worker_id = row.optional_int64(7);
  m.consumer_worker_id = row.optional_int64(8);
  m.archived_at = row.optional_time(9);
  m.dead_at = row.optional_time(10);
  m.priority = int32(row, 11);
  if (!row.is_null(12)) m.dedup_key = row.text(12);
  if (!row.is_null(13)) m.concurrency_key = row.text(13);
  if (!row.is_null(14)) m.traceparent = row.text(14);
  if (!row.is_null(15)) m.tracestate = row.text(15);
  return m;
}

WorkerInfo read_worker(const RowReader& row) {
  WorkerInfo w;
  w.id = row.int64(0);
  w.name = row.text(1);
  const std::string kind = row.text(2);
  const auto parsed_kind = parse_worker_kind(kind);
  if (!parsed_kind) {
    throw InternalError("worker " + std::to_string(w.id) + " has unknown kind '" + kind + "'");
  }
  w.kind = *parsed_kind;
  w.queue_id = row.optional_int64(3);
  w.hostname = row.text(4);
  w.pid = row.int64(5);
  const std::string status = row.text(6);
  const auto parsed_status = parse_worker_status(status);
  if (!parsed_status) {
    throw InternalError("worker " + std::to_string(w.id) + " has unknown status '" + status + "'");
  }
  w.status = *parsed_status;
  w.started_at = row.time(7);
  w.heartbeat_at = row.time(8);
  w.shutdown_at = row.optional_time(9);
  return w;
}

WorkflowRecord read_workflow(const RowReader& row) {
  WorkflowRecord w;
  w.id = row.int64(0);
  w.name = row.text(1);
  w.queue_id = row.int64(2);
  w.created_at = row.time(3);
  return w;
}

RunRecord read_run(const RowReader& row) {
  RunRecord r;
  r.id = row.int64(0);
  const std::string what = "workflow run " + std::to_string(r.id);
  r.workflow_id = row.int64(1);
  r.workflow_name = row.text(2);
  r.message_id = row.optional_int64(3);
  r.status = parse_stored_status(row.text(4), what);
  r.input = optional_json(row, 5, what + " (input)").value_or(json(nullptr));
  r.output = optional_json(row, 6, what + " (output)");
  r.error = optional_json(row, 7, what + " (error)");
  r.created_at = row.time(8);
  r.updated_at = row.time(9);
  return r;
}

StepRecord read_step(const RowReader& row) {
  StepRecord st;
  st.id = row.int64(0);
  st.run_id = row.int64(1);
  st.step_name = row.text(2);
  const std::string what =
      "step '" + st.step_name + "' of workflow run " + std::to_string(st.run_id);
  st.status = parse_stored_status(row.text(3), what);
  st.input = optional_json(row, 4, what + " (input)");
  st.output = optional_json(row, 5, what + " (output)");
  st.error = optional_json(row, 6, what + " (error)");
  st.retry_at = row.optional_time(7);
  st.retry_count = int32(row, 8);
  st.created_at = row.time(9);
  st.updated_at = row.time(10);
  return st;
}

WorkerInfo registered_worker(std::int64_t id, std::optional<std::int64_t> queue_id,
                             std::string_view name, WorkerKind kind, std::string_view hostname,
                             std::int64_t pid, TimePoint now) {
  WorkerInfo w;
  w.id = id;
  w.queue_id = queue_id;
  w.name = std::string(name);
  w.kind = kind;
  w.hostname = std::string(hostname);
  w.pid = pid;
  w.status = WorkerStatus::kReady;
  w.started_at = std::chrono::floor<std::chrono::microseconds>(now);
  w.heartbeat_at = w.started_at;
  return w;
}

std::chrono::milliseconds age_at(TimePoint now, TimePoint stored) {
  const TimePoint stored_now = std::chrono::floor<std::chrono::microseconds>(now);
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(stored_now - stored);
  return std::max(age, std::chrono::milliseconds(0));
}

QueueMetrics read_queue_metrics(const RowReader& row, TimePoint now) {
  QueueMetrics m;
  m.queue_id = row.int64(0);
  m.queue_name = row.text(1);
  m.pending = row.count(2);
  m.delayed = row.count(3);
  m.leased = row.count(4);
  m.archived = row.count(5);
  m.dead = row.count(6);
  if (auto oldest = row.optional_time(7)) m.oldest_pending_age = age_at(now, *oldest);
  return m;
}

}  // namespace pgqrs::backend
