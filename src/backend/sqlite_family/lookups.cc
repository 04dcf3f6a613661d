#include "backend/sqlite_family/lookups.h"

#include <string>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kQueueIdByName[] = "SELECT id FROM pgqrs_queues WHERE queue_name = ?1";
constexpr char kWorkerStatusById[] = "SELECT status FROM pgqrs_workers WHERE id = ?1";
constexpr char kInsertQueue[] =
    "INSERT INTO pgqrs_queues (queue_name, created_at) VALUES (?1, ?2) RETURNING id";
constexpr char kInsertMessage[] = R"sql(
INSERT INTO pgqrs_messages
  (queue_id, payload, vt, enqueued_at, read_ct, producer_worker_id, traceparent, tracestate)
VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7) RETURNING id)sql";
constexpr char kTableExists[] = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1";

}  // namespace

std::optional<std::int64_t> find_queue_id(Session& s, std::string_view queue) {
  auto q = s.query(kQueueIdByName);
  q.bind(queue);
  if (!q.step()) return std::nullopt;
  return q.int64(0);
}

std::int64_t require_queue_id(Session& s, std::string_view queue) {
  if (auto id = find_queue_id(s, queue)) return *id;
  throw QueueNotFoundError("queue '" + std::string(queue) + "' does not exist");
}

std::optional<WorkerStatus> find_worker_status(Session& s, std::int64_t id) {
  auto q = s.query(kWorkerStatusById);
  q.bind(id);
  if (!q.step()) return std::nullopt;
  const std::string text = q.text(0);
  const auto status = parse_worker_status(text);
  if (!status) {
    throw InternalError("worker " + std::to_string(id) + " has unknown status '" + text + "'");
  }
  return status;
}

WorkerStatus require_worker_status(Session& s, std::int64_t id) {
  if (auto status = find_worker_status(s, id)) return *status;
  throw WorkerNotFoundError("worker " + std::to_string(id) + " does not exist");
}

std::int64_t insert_queue(Session& s, std::string_view queue, TimePoint now) {
  return s.query(kInsertQueue).bind(queue).bind(now).insert_returning_id();
}

std::int64_t insert_message(Session& s, std::int64_t queue_id, std::string_view payload,
                            TimePoint visible_at, TimePoint now,
                            std::optional<std::int64_t> producer_worker_id,
                            const backend::MessageTrace& trace) {
  return s.query(kInsertMessage)
      .bind(queue_id)
      .bind(payload)
      .bind(visible_at)
      .bind(now)
      .bind(producer_worker_id)
      .bind(trace.traceparent)
      .bind(trace.tracestate)
      .insert_returning_id();
}

bool table_exists(Session& s, std::string_view table) {
  auto q = s.query(kTableExists);
  q.bind(table);
  return q.step();
}

}  // namespace pgqrs::sqlite_family
