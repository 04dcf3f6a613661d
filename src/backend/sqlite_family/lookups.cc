#include "backend/sqlite_family/lookups.h"

#include <string>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kQueueIdByName[] = "SELECT id FROM pgqrs_queues WHERE queue_name = ?1";
constexpr char kWorkerStatusById[] = "SELECT status FROM pgqrs_workers WHERE id = ?1";
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

bool table_exists(Session& s, std::string_view table) {
  auto q = s.query(kTableExists);
  q.bind(table);
  return q.step();
}

}  // namespace pgqrs::sqlite_family
