#include "backend/sqlite_family/rows.h"

#include <string>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {

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

}  // namespace pgqrs::sqlite_family
