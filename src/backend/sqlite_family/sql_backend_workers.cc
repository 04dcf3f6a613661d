// SqlFamilyBackend: worker rows (registration, status compare-and-set, heartbeats, their
// leased messages, zombies and cleanup).
#include <algorithm>
#include <string>

#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kInsertWorker[] = R"sql(
INSERT INTO pgqrs_workers
  (name, kind, queue_id, hostname, pid, status, started_at, heartbeat_at)
VALUES (?1, ?2, ?3, ?4, ?5, 'ready', ?6, ?6) RETURNING id)sql";
// Only for a versioned store (see kSetRunVersion in sql_backend_workflows.cc).
constexpr char kSetWorkerVersion[] = "UPDATE pgqrs_workers SET app_version = ?2 WHERE id = ?1";

constexpr char kWorkerById[] = "SELECT " PGQRS_WORKER_COLUMNS " FROM pgqrs_workers WHERE id = ?1";

constexpr char kListWorkers[] = "SELECT " PGQRS_WORKER_COLUMNS
                                " FROM pgqrs_workers WHERE (?1 IS NULL OR queue_id = ?1) "
                                "ORDER BY id";

// ?3 = new status text; shutdown_at is stamped when the worker stops.
constexpr char kSetStatus[] = R"sql(
UPDATE pgqrs_workers
SET status = ?3, shutdown_at = CASE WHEN ?3 = 'stopped' THEN ?2 ELSE shutdown_at END
WHERE id = ?1)sql";

constexpr char kHeartbeat[] = "UPDATE pgqrs_workers SET heartbeat_at = ?2 WHERE id = ?1";

// A lease held now: ?1 = worker, ?2 = now.
#define PGQRS_SQL_LEASED_BY_WORKER \
  "consumer_worker_id = ?1 AND vt > ?2 AND archived_at IS NULL AND dead_at IS NULL"

constexpr char kLeasedMessages[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM pgqrs_messages WHERE " PGQRS_SQL_LEASED_BY_WORKER
    " ORDER BY vt, id";

constexpr char kReleaseWorkerMessages[] =
    "UPDATE pgqrs_messages SET vt = ?2, consumer_worker_id = NULL "
    "WHERE " PGQRS_SQL_LEASED_BY_WORKER;

#undef PGQRS_SQL_LEASED_BY_WORKER

constexpr char kWorkerReferences[] = R"sql(
SELECT (SELECT COUNT(*) FROM pgqrs_messages WHERE consumer_worker_id = ?1)
     + (SELECT COUNT(*) FROM pgqrs_messages WHERE producer_worker_id = ?1))sql";

constexpr char kDeleteWorker[] = "DELETE FROM pgqrs_workers WHERE id = ?1";

// Zombies of a queue: ?1 = queue id, ?2 = heartbeat_before, ?3 = now.
#define PGQRS_SQL_ZOMBIE "queue_id = ?1 AND status <> 'stopped' AND heartbeat_at < ?2"

constexpr char kReleaseZombieMessages[] = R"sql(
UPDATE pgqrs_messages SET vt = ?3, consumer_worker_id = NULL
WHERE consumer_worker_id IN (SELECT id FROM pgqrs_workers WHERE )sql" PGQRS_SQL_ZOMBIE R"sql()
  AND vt > ?3 AND archived_at IS NULL AND dead_at IS NULL)sql";

constexpr char kStopZombies[] =
    "UPDATE pgqrs_workers SET status = 'stopped', shutdown_at = ?3 WHERE " PGQRS_SQL_ZOMBIE;

#undef PGQRS_SQL_ZOMBIE

constexpr char kPurgeWorkers[] = R"sql(
DELETE FROM pgqrs_workers
WHERE status = 'stopped' AND heartbeat_at < ?1
  AND NOT EXISTS (SELECT 1 FROM pgqrs_messages m WHERE m.consumer_worker_id = pgqrs_workers.id)
  AND NOT EXISTS (SELECT 1 FROM pgqrs_messages m WHERE m.producer_worker_id = pgqrs_workers.id))sql";

}  // namespace

WorkerInfo SqlFamilyBackend::register_worker(std::string_view name, WorkerKind kind,
                                             std::optional<std::string_view> queue,
                                             std::string_view hostname, std::int64_t pid,
                                             TimePoint now) {
  return exec_.write("register_worker", [&](Session& s) {
    std::optional<std::int64_t> queue_id;
    if (queue && !queue->empty()) queue_id = require_queue_id(s, *queue);
    const std::int64_t id = s.query(kInsertWorker)
                                .bind(name)
                                .bind(to_string(kind))
                                .bind(queue_id)
                                .bind(hostname)
                                .bind(pid)
                                .bind(now)
                                .insert_returning_id();
    if (app_version_) s.query(kSetWorkerVersion).bind(id).bind(*app_version_).execute();
    return backend::registered_worker(id, queue_id, name, kind, hostname, pid, now);
  });
}

std::optional<WorkerInfo> SqlFamilyBackend::get_worker(std::int64_t id) {
  return exec_.read("get_worker", [&](Session& s) -> std::optional<WorkerInfo> {
    auto q = s.query(kWorkerById);
    q.bind(id);
    if (!q.step()) return std::nullopt;
    return backend::read_worker(QueryRow(q));
  });
}

std::vector<WorkerInfo> SqlFamilyBackend::list_workers(std::optional<std::string_view> queue) {
  return exec_.read("list_workers", [&](Session& s) {
    std::optional<std::int64_t> queue_id;
    if (queue && !queue->empty()) queue_id = require_queue_id(s, *queue);
    std::vector<WorkerInfo> out;
    auto q = s.query(kListWorkers);
    q.bind(queue_id);
    while (q.step()) out.push_back(backend::read_worker(QueryRow(q)));
    return out;
  });
}

backend::StatusChange SqlFamilyBackend::change_worker_status(std::int64_t id,
                                                             const std::vector<WorkerStatus>& from,
                                                             WorkerStatus to, TimePoint now) {
  // Read, compare, write inside one BEGIN IMMEDIATE transaction: no other connection can
  // change the row in between, so this is a true compare-and-set across processes.
  return exec_.write("change_worker_status", [&](Session& s) {
    backend::StatusChange change;
    change.current = find_worker_status(s, id);
    if (!change.current) return change;
    if (std::find(from.begin(), from.end(), *change.current) == from.end()) return change;
    s.query(kSetStatus).bind(id).bind(now).bind(to_string(to)).execute();
    change.applied = true;
    change.current = to;
    return change;
  });
}

bool SqlFamilyBackend::heartbeat(std::int64_t id, TimePoint now) {
  return exec_.write("heartbeat", [&](Session& s) {
    return s.query(kHeartbeat).bind(id).bind(now).execute() > 0;
  });
}

std::vector<QueueMessage> SqlFamilyBackend::leased_messages(std::int64_t worker, TimePoint now) {
  return exec_.read("leased_messages", [&](Session& s) {
    std::vector<QueueMessage> out;
    auto q = s.query(kLeasedMessages);
    q.bind(worker).bind(now);
    while (q.step()) out.push_back(backend::read_message(QueryRow(q)));
    return out;
  });
}

std::uint64_t SqlFamilyBackend::release_worker_messages(std::int64_t worker, TimePoint now) {
  return exec_.write("release_worker_messages", [&](Session& s) {
    return static_cast<std::uint64_t>(
        s.query(kReleaseWorkerMessages).bind(worker).bind(now).execute());
  });
}

void SqlFamilyBackend::delete_worker(std::int64_t id) {
  exec_.write("delete_worker", [&](Session& s) {
    const WorkerStatus status = require_worker_status(s, id);
    const std::string who = "worker " + std::to_string(id);
    if (status != WorkerStatus::kStopped) {
      throw ConflictError("cannot delete " + who + ": it is " + std::string(to_string(status)) +
                          "; only a stopped worker can be deleted");
    }
    std::int64_t refs = 0;
    {
      auto q = s.query(kWorkerReferences);
      q.bind(id).step();
      refs = q.int64(0);
    }
    if (refs > 0) {
      throw ConflictError("cannot delete " + who + ": " + std::to_string(refs) +
                          " message(s) still refer to it");
    }
    s.query(kDeleteWorker).bind(id).execute();
  });
}

std::uint64_t SqlFamilyBackend::reclaim_zombies(std::string_view queue, TimePoint heartbeat_before,
                                                TimePoint now) {
  return exec_.write("reclaim_zombies", [&](Session& s) {
    const std::int64_t queue_id = require_queue_id(s, queue);
    const auto released =
        s.query(kReleaseZombieMessages).bind(queue_id).bind(heartbeat_before).bind(now).execute();
    s.query(kStopZombies).bind(queue_id).bind(heartbeat_before).bind(now).execute();
    return static_cast<std::uint64_t>(released);
  });
}

std::uint64_t SqlFamilyBackend::purge_workers(TimePoint heartbeat_before) {
  return exec_.write("purge_workers", [&](Session& s) {
    return static_cast<std::uint64_t>(s.query(kPurgeWorkers).bind(heartbeat_before).execute());
  });
}

}  // namespace pgqrs::sqlite_family
