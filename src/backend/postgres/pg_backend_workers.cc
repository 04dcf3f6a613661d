// PostgresBackend: worker rows (registration, status compare-and-set, heartbeats, their
// leased messages, zombies and cleanup).
#include <string>

#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "backend/postgres/worker_references_sql.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// $3 queue name (NULL for a worker bound to no queue). No row = no such queue.
// Only for a versioned store, so an unversioned one writes no column of schema step 7 here.
constexpr char kSetWorkerVersion[] = "UPDATE {s}.pgqrs_workers SET app_version = $2 WHERE id = $1";
constexpr char kInsertWorker[] = R"sql(
WITH q AS (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $3)
INSERT INTO {s}.pgqrs_workers
  (name, kind, queue_id, hostname, pid, status, started_at, heartbeat_at)
SELECT $1, $2, (SELECT id FROM q), $4, $5, 'ready', $6, $6
WHERE $3::text IS NULL OR EXISTS (SELECT 1 FROM q)
RETURNING id, queue_id)sql";

constexpr char kWorkerById[] =
    "SELECT " PGQRS_WORKER_COLUMNS " FROM {s}.pgqrs_workers WHERE id = $1";

constexpr char kQueueId[] = "SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1";

constexpr char kListWorkers[] = "SELECT " PGQRS_WORKER_COLUMNS
                                " FROM {s}.pgqrs_workers WHERE ($1::int8 IS NULL OR queue_id = $1) "
                                "ORDER BY id";

// Compare-and-set: $3 new status, $4 allowed current statuses. The row lock taken by the
// UPDATE makes it atomic across processes; a concurrent change is waited for and re-checked.
constexpr char kSetStatus[] = R"sql(
UPDATE {s}.pgqrs_workers
SET status = $3, shutdown_at = CASE WHEN $3 = 'stopped' THEN $2 ELSE shutdown_at END
WHERE id = $1 AND status = ANY($4)
RETURNING status)sql";

constexpr char kWorkerStatus[] = "SELECT status FROM {s}.pgqrs_workers WHERE id = $1";

constexpr char kHeartbeat[] = "UPDATE {s}.pgqrs_workers SET heartbeat_at = $2 WHERE id = $1";

// A lease held now: $1 = worker, $2 = now. Found through pgqrs_messages_held_idx (queue_id, vt,
// id), one descent per queue to the leases not expired yet (schema step 9, decision P11): the
// held leases of the whole database, i.e. the work in flight, filtered by worker. A worker may
// hold leases of another queue than its own (the backend allows it), hence every queue.
#define PGQRS_PG_HELD_NOW                                                                \
  "queue_id = ANY (ARRAY(SELECT id FROM {s}.pgqrs_queues)) AND archived_at IS NULL AND " \
  "dead_at IS NULL AND consumer_worker_id IS NOT NULL AND vt > "
#define PGQRS_PG_LEASED_BY_WORKER PGQRS_PG_HELD_NOW "$2 AND consumer_worker_id = $1"

constexpr char kLeasedMessages[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM {s}.pgqrs_messages WHERE " PGQRS_PG_LEASED_BY_WORKER
    " ORDER BY vt, id";

// $3 channel: the released messages are deliverable now.
constexpr char kReleaseWorkerMessages[] = R"sql(
WITH r AS (
  UPDATE {s}.pgqrs_messages SET vt = $2, consumer_worker_id = NULL
  WHERE )sql" PGQRS_PG_LEASED_BY_WORKER R"sql(
  RETURNING queue_id),
     n AS (SELECT pg_notify($3, q.queue_name) FROM {s}.pgqrs_queues q
           WHERE q.id IN (SELECT queue_id FROM r))
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n))sql";

constexpr char kLockWorker[] = "SELECT status FROM {s}.pgqrs_workers WHERE id = $1 FOR UPDATE";

// The messages that name worker $1 as consumer or producer, archived and dead ones included
// (one per name). No index serves this since schema step 9 (P11): one sequential scan, an
// admin call's cost, so that no lease or archive pays for it.
constexpr char kWorkerReferences[] = R"sql(
SELECT count(*) FILTER (WHERE consumer_worker_id = $1)
     + count(*) FILTER (WHERE producer_worker_id = $1)
FROM {s}.pgqrs_messages WHERE consumer_worker_id = $1 OR producer_worker_id = $1)sql";

constexpr char kDeleteWorker[] = "DELETE FROM {s}.pgqrs_workers WHERE id = $1";

// Zombies of a queue: $1 queue name, $2 heartbeat_before, $3 now, $4 channel. Returns queue
// id (NULL = no such queue) and the number of messages released.
constexpr char kReclaimZombies[] = R"sql(
WITH q AS (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1),
     z AS (SELECT id FROM {s}.pgqrs_workers
           WHERE queue_id = (SELECT id FROM q) AND status <> 'stopped' AND heartbeat_at < $2
           FOR UPDATE),
     r AS (UPDATE {s}.pgqrs_messages SET vt = $3, consumer_worker_id = NULL
           WHERE EXISTS (SELECT 1 FROM z) AND )sql" PGQRS_PG_HELD_NOW R"sql($3
             AND consumer_worker_id = ANY (ARRAY(SELECT id FROM z))
           RETURNING 1),
     st AS (UPDATE {s}.pgqrs_workers SET status = 'stopped', shutdown_at = $3
            WHERE id IN (SELECT id FROM z)
            RETURNING 1),
     n AS (SELECT pg_notify($4, $1) FROM (SELECT 1 FROM r LIMIT 1) AS any_row)
SELECT (SELECT id FROM q), (SELECT count(*) FROM r), (SELECT count(*) FROM st),
       (SELECT count(*) FROM n))sql";

// Stopped workers idle since $1 that no message names (worker_references_sql.h).
constexpr char kPurgeWorkers[] = R"sql(
DELETE FROM {s}.pgqrs_workers w
WHERE w.status = 'stopped' AND w.heartbeat_at < $1 AND )sql" PGQRS_PG_NOT_REFERENCED("w");

#undef PGQRS_PG_LEASED_BY_WORKER
#undef PGQRS_PG_HELD_NOW

WorkerStatus parse_status(const std::string& text, std::int64_t id) {
  const auto status = parse_worker_status(text);
  if (!status) {
    throw InternalError("worker " + std::to_string(id) + " has unknown status '" + text + "'");
  }
  return *status;
}

}  // namespace

WorkerInfo PostgresBackend::register_worker(std::string_view name, WorkerKind kind,
                                            std::optional<std::string_view> queue,
                                            std::string_view hostname, std::int64_t pid,
                                            TimePoint now) {
  const bool bound = queue && !queue->empty();
  Params params;
  params.text(name).text(to_string(kind));
  if (bound) {
    params.text(*queue);
  } else {
    params.null(kTextOid);
  }
  params.text(hostname).int8(pid).time(now);
  return exec_.transaction("register_worker", [&](Session& s) {
    auto r = s.exec(sql_(kInsertWorker), params);
    if (r.rows() == 0) queue_not_found(*queue);
    // A versioned store's workers record its version (only then: see kSetWorkerVersion).
    if (app_version_) {
      s.exec(sql_(kSetWorkerVersion), Params().int8(r.int8(0, 0)).text(*app_version_));
    }
    return backend::registered_worker(r.int8(0, 0), r.optional_int8(0, 1), name, kind, hostname,
                                      pid, now);
  });
}

std::optional<WorkerInfo> PostgresBackend::get_worker(std::int64_t id) {
  return exec_.read("get_worker", [&](Session& s) -> std::optional<WorkerInfo> {
    auto r = s.exec(sql_(kWorkerById), Params().int8(id));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_worker(PgRow(r, 0));
  });
}

std::vector<WorkerInfo> PostgresBackend::list_workers(std::optional<std::string_view> queue) {
  return exec_.read("list_workers", [&](Session& s) {
    Params params;
    if (queue && !queue->empty()) {
      auto q = s.exec(sql_(kQueueId), Params().text(*queue));
      if (q.rows() == 0) queue_not_found(*queue);
      params.int8(q.int8(0, 0));
    } else {
      params.null(kInt8Oid);
    }
    auto r = s.exec(sql_(kListWorkers), params);
    std::vector<WorkerInfo> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_worker(PgRow(r, i)));
    return out;
  });
}

backend::StatusChange PostgresBackend::change_worker_status(std::int64_t id,
                                                            const std::vector<WorkerStatus>& from,
                                                            WorkerStatus to, TimePoint now) {
  std::vector<std::string_view> allowed;
  allowed.reserve(from.size());
  for (const WorkerStatus f : from) allowed.push_back(to_string(f));
  backend::StatusChange change;
  change.applied = exec_.write("change_worker_status", [&](Session& s) {
    auto r = s.exec(sql_(kSetStatus),
                    Params().int8(id).time(now).text(to_string(to)).text_array(allowed));
    return r.rows() > 0;
  });
  if (change.applied) {
    change.current = to;
    return change;
  }
  // Not applied: report the status as it is now (after any concurrent change we waited for).
  change.current = exec_.read("worker_status", [&](Session& s) -> std::optional<WorkerStatus> {
    auto r = s.exec(sql_(kWorkerStatus), Params().int8(id));
    if (r.rows() == 0) return std::nullopt;
    return parse_status(r.text(0, 0), id);
  });
  return change;
}

bool PostgresBackend::heartbeat(std::int64_t id, TimePoint now) {
  return exec_.write("heartbeat", [&](Session& s) {
    return s.exec(sql_(kHeartbeat), Params().int8(id).time(now)).affected() > 0;
  });
}

std::vector<QueueMessage> PostgresBackend::leased_messages(std::int64_t worker, TimePoint now) {
  return exec_.read("leased_messages", [&](Session& s) {
    auto r = s.exec(sql_(kLeasedMessages), Params().int8(worker).time(now));
    std::vector<QueueMessage> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_message(PgRow(r, i)));
    return out;
  });
}

std::uint64_t PostgresBackend::release_worker_messages(std::int64_t worker, TimePoint now) {
  return exec_.write("release_worker_messages", [&](Session& s) {
    auto r = s.exec(sql_(kReleaseWorkerMessages), Params().int8(worker).time(now).text(channel_));
    return static_cast<std::uint64_t>(r.int8(0, 0));
  });
}

void PostgresBackend::delete_worker(std::int64_t id) {
  exec_.transaction("delete_worker", [&](Session& s) {
    auto locked = s.exec(sql_(kLockWorker), Params().int8(id));
    if (locked.rows() == 0) worker_not_found(id);
    const WorkerStatus status = parse_status(locked.text(0, 0), id);
    const std::string who = "worker " + std::to_string(id);
    if (status != WorkerStatus::kStopped) {
      throw ConflictError("cannot delete " + who + ": it is " + std::string(to_string(status)) +
                          "; only a stopped worker can be deleted");
    }
    const std::int64_t refs = s.exec(sql_(kWorkerReferences), Params().int8(id)).int8(0, 0);
    if (refs > 0) {
      throw ConflictError("cannot delete " + who + ": " + std::to_string(refs) +
                          " message(s) still refer to it");
    }
    s.exec(sql_(kDeleteWorker), Params().int8(id));
  });
}

std::uint64_t PostgresBackend::reclaim_zombies(std::string_view queue, TimePoint heartbeat_before,
                                               TimePoint now) {
  return exec_.write("reclaim_zombies", [&](Session& s) {
    auto r = s.exec(sql_(kReclaimZombies),
                    Params().text(queue).time(heartbeat_before).time(now).text(channel_));
    if (r.is_null(0, 0)) queue_not_found(queue);
    return static_cast<std::uint64_t>(r.int8(0, 1));
  });
}

std::uint64_t PostgresBackend::purge_workers(TimePoint heartbeat_before) {
  return exec_.write("purge_workers", [&](Session& s) {
    return s.exec(sql_(kPurgeWorkers), Params().time(heartbeat_before)).affected();
  });
}

}  // namespace pgqrs::pg
