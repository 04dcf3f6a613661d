#include "backend/sqlite_family/rows.h"

#include <optional>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

// Column `col` parsed as JSON; nullopt when NULL. `what` names the row for the error.
std::optional<json> optional_json(Query& q, int col, const std::string& what) {
  if (q.is_null(col)) return std::nullopt;
  const std::string text = q.text(col);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw SerializationError(what + " has a stored value that is not valid JSON: " + e.what());
  }
}

WorkflowStatus workflow_status(Query& q, int col, const std::string& what) {
  const std::string text = q.text(col);
  const auto status = parse_workflow_status(text);
  if (!status) throw InternalError(what + " has unknown status '" + text + "'");
  return *status;
}

}  // namespace

QueueInfo read_queue(Query& q) {
  QueueInfo info;
  info.id = q.int64(0);
  info.queue_name = q.text(1);
  info.created_at = q.time(2);
  return info;
}

QueueMessage read_message(Query& q) {
  QueueMessage m;
  m.id = q.int64(0);
  m.queue_id = q.int64(1);
  const std::string payload = q.text(2);
  try {
    m.payload = json::parse(payload);
  } catch (const json::exception& e) {
    throw SerializationError("message " + std::to_string(m.id) +
                             " has a stored payload that is not valid JSON: " + e.what());
  }
  m.vt = q.time(3);
  m.enqueued_at = q.time(4);
  m.read_ct = static_cast<std::int32_t>(q.int64(5));
  m.dequeued_at = q.optional_time(6);
  m.producer_worker_id = q.optional_int64(7);
  m.consumer_worker_id = q.optional_int64(8);
  m.archived_at = q.optional_time(9);
  m.dead_at = q.optional_time(10);
  return m;
}

WorkerInfo read_worker(Query& q) {
  WorkerInfo w;
  w.id = q.int64(0);
  w.name = q.text(1);
  const std::string kind = q.text(2);
  const auto parsed_kind = parse_worker_kind(kind);
  if (!parsed_kind) {
    throw InternalError("worker " + std::to_string(w.id) + " has unknown kind '" + kind + "'");
  }
  w.kind = *parsed_kind;
  w.queue_id = q.optional_int64(3);
  w.hostname = q.text(4);
  w.pid = q.int64(5);
  const std::string status = q.text(6);
  const auto parsed_status = parse_worker_status(status);
  if (!parsed_status) {
    throw InternalError("worker " + std::to_string(w.id) + " has unknown status '" + status + "'");
  }
  w.status = *parsed_status;
  w.started_at = q.time(7);
  w.heartbeat_at = q.time(8);
  w.shutdown_at = q.optional_time(9);
  return w;
}

WorkflowRecord read_workflow(Query& q) {
  WorkflowRecord w;
  w.id = q.int64(0);
  w.name = q.text(1);
  w.queue_id = q.int64(2);
  w.created_at = q.time(3);
  return w;
}

RunRecord read_run(Query& q) {
  RunRecord r;
  r.id = q.int64(0);
  const std::string what = "workflow run " + std::to_string(r.id);
  r.workflow_id = q.int64(1);
  r.workflow_name = q.text(2);
  r.message_id = q.optional_int64(3);
  r.status = workflow_status(q, 4, what);
  r.input = optional_json(q, 5, what + " (input)").value_or(json(nullptr));
  r.output = optional_json(q, 6, what + " (output)");
  r.error = optional_json(q, 7, what + " (error)");
  r.created_at = q.time(8);
  r.updated_at = q.time(9);
  return r;
}

StepRecord read_step(Query& q) {
  StepRecord st;
  st.id = q.int64(0);
  st.run_id = q.int64(1);
  st.step_name = q.text(2);
  const std::string what =
      "step '" + st.step_name + "' of workflow run " + std::to_string(st.run_id);
  st.status = workflow_status(q, 3, what);
  st.input = optional_json(q, 4, what + " (input)");
  st.output = optional_json(q, 5, what + " (output)");
  st.error = optional_json(q, 6, what + " (error)");
  st.retry_at = q.optional_time(7);
  st.retry_count = static_cast<std::int32_t>(q.int64(8));
  st.created_at = q.time(9);
  st.updated_at = q.time(10);
  return st;
}

}  // namespace pgqrs::sqlite_family
