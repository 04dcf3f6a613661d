#include "backend/postgres/rows.h"

#include <string>

#include "pgqrs/error.h"

namespace pgqrs::pg {

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

}  // namespace pgqrs::pg
