#include "backend/postgres/rows.h"

#include <optional>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

WorkflowStatus workflow_status(const Result& r, int row, int col, const std::string& what) {
  const std::string text = r.text(row, col);
  const auto parsed = parse_workflow_status(text);
  if (!parsed) throw InternalError(what + " has unknown status '" + text + "'");
  return *parsed;
}

std::optional<json> optional_json(const Result& r, int row, int col, const std::string& what) {
  if (r.is_null(row, col)) return std::nullopt;
  const std::string text = r.text(row, col);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw SerializationError(what + " is not valid JSON: " + e.what());
  }
}

}  // namespace

QueueInfo read_queue(const Result& r, int row, int first) {
  QueueInfo q;
  q.id = r.int8(row, first);
  q.queue_name = r.text(row, first + 1);
  q.created_at = r.time(row, first + 2);
  return q;
}

QueueMessage read_message(const Result& r, int row, int first) {
  QueueMessage m;
  m.id = r.int8(row, first);
  m.queue_id = r.int8(row, first + 1);
  const std::string payload = r.text(row, first + 2);
  try {
    m.payload = json::parse(payload);
  } catch (const json::exception& e) {
    throw SerializationError("message " + std::to_string(m.id) +
                             " has a payload that is not valid JSON: " + e.what());
  }
  m.vt = r.time(row, first + 3);
  m.enqueued_at = r.time(row, first + 4);
  m.read_ct = r.int4(row, first + 5);
  m.dequeued_at = r.optional_time(row, first + 6);
  m.producer_worker_id = r.optional_int8(row, first + 7);
  m.consumer_worker_id = r.optional_int8(row, first + 8);
  m.archived_at = r.optional_time(row, first + 9);
  m.dead_at = r.optional_time(row, first + 10);
  return m;
}

WorkerInfo read_worker(const Result& r, int row, int first) {
  WorkerInfo w;
  w.id = r.int8(row, first);
  w.name = r.text(row, first + 1);
  const std::string kind = r.text(row, first + 2);
  const auto parsed_kind = parse_worker_kind(kind);
  if (!parsed_kind) {
    throw InternalError("worker " + std::to_string(w.id) + " has unknown kind '" + kind + "'");
  }
  w.kind = *parsed_kind;
  w.queue_id = r.optional_int8(row, first + 3);
  w.hostname = r.text(row, first + 4);
  w.pid = r.int8(row, first + 5);
  const std::string status = r.text(row, first + 6);
  const auto parsed_status = parse_worker_status(status);
  if (!parsed_status) {
    throw InternalError("worker " + std::to_string(w.id) + " has unknown status '" + status + "'");
  }
  w.status = *parsed_status;
  w.started_at = r.time(row, first + 7);
  w.heartbeat_at = r.time(row, first + 8);
  w.shutdown_at = r.optional_time(row, first + 9);
  return w;
}

WorkflowRecord read_workflow(const Result& r, int row, int first) {
  WorkflowRecord w;
  w.id = r.int8(row, first);
  w.name = r.text(row, first + 1);
  w.queue_id = r.int8(row, first + 2);
  w.created_at = r.time(row, first + 3);
  return w;
}

RunRecord read_run(const Result& r, int row, int first) {
  RunRecord run;
  run.id = r.int8(row, first);
  const std::string what = "workflow run " + std::to_string(run.id);
  run.workflow_id = r.int8(row, first + 1);
  run.workflow_name = r.text(row, first + 2);
  run.message_id = r.optional_int8(row, first + 3);
  run.status = workflow_status(r, row, first + 4, what);
  run.input = optional_json(r, row, first + 5, what + " (input)").value_or(json(nullptr));
  run.output = optional_json(r, row, first + 6, what + " (output)");
  run.error = optional_json(r, row, first + 7, what + " (error)");
  run.created_at = r.time(row, first + 8);
  run.updated_at = r.time(row, first + 9);
  return run;
}

StepRecord read_step(const Result& r, int row, int first) {
  StepRecord st;
  st.id = r.int8(row, first);
  st.run_id = r.int8(row, first + 1);
  st.step_name = r.text(row, first + 2);
  const std::string what =
      "step '" + st.step_name + "' of workflow run " + std::to_string(st.run_id);
  st.status = workflow_status(r, row, first + 3, what);
  st.input = optional_json(r, row, first + 4, what + " (input)");
  st.output = optional_json(r, row, first + 5, what + " (output)");
  st.error = optional_json(r, row, first + 6, what + " (error)");
  st.retry_at = r.optional_time(row, first + 7);
  st.retry_count = r.int4(row, first + 8);
  st.created_at = r.time(row, first + 9);
  st.updated_at = r.time(row, first + 10);
  return st;
}

}  // namespace pgqrs::pg
