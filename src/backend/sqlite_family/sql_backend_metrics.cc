// SqlFamilyBackend: queue metrics, system stats and worker stats.
//
// Buckets (records.h, QueueMetrics) for a message row at time `now`; every row is in
// exactly one bucket:
//   archived : archived_at set
//   dead     : dead_at set, or live and visible with read_ct >= max_read_ct
//   pending  : live, vt <= now, read_ct < max_read_ct
//   leased   : live, vt > now, consumer_worker_id set
//   delayed  : live, vt > now, consumer_worker_id NULL
// where "live" = archived_at NULL and dead_at NULL.
#include <algorithm>
#include <chrono>
#include <string>

#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/migrations.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"
#include "backend/worker_tally.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

// Bucket counts over the message rows `m`; ?1 = now, ?2 = max_read_ct.
#define PGQRS_SQL_LIVE "m.archived_at IS NULL AND m.dead_at IS NULL"
#define PGQRS_SQL_PENDING PGQRS_SQL_LIVE " AND m.vt <= ?1 AND m.read_ct < ?2"
#define PGQRS_SQL_BUCKETS(ARCHIVED)                                                       \
  "COALESCE(SUM(CASE WHEN " PGQRS_SQL_PENDING                                             \
  " THEN 1 ELSE 0 END), 0), "                                                             \
  "COALESCE(SUM(CASE WHEN " PGQRS_SQL_LIVE                                                \
  " AND m.vt > ?1 AND m.consumer_worker_id IS NULL THEN 1 ELSE 0 END), 0), "              \
  "COALESCE(SUM(CASE WHEN " PGQRS_SQL_LIVE                                                \
  " AND m.vt > ?1 AND m.consumer_worker_id IS NOT NULL THEN 1 ELSE 0 END), 0), " ARCHIVED \
  ", "                                                                                    \
  "COALESCE(SUM(CASE WHEN m.dead_at IS NOT NULL OR (" PGQRS_SQL_LIVE                      \
  " AND m.vt <= ?1 AND m.read_ct >= ?2) THEN 1 ELSE 0 END), 0), "                         \
  "MIN(CASE WHEN " PGQRS_SQL_PENDING " THEN m.enqueued_at END)"

// One row per queue (?3 = queue id, or NULL for all), ordered by name. Archived rows are
// not visited: their number is the queue's counter (pgqrs_archived_counts, W8).
constexpr char kQueueMetrics[] = "SELECT q.id, q.queue_name, " PGQRS_SQL_BUCKETS(
    "COALESCE((SELECT SUM(c.n) FROM pgqrs_archived_counts c WHERE c.queue_id = q.id), 0)") R"sql(
FROM pgqrs_queues q LEFT JOIN pgqrs_messages m ON m.queue_id = q.id AND m.archived_at IS NULL
WHERE ?3 IS NULL OR q.id = ?3
GROUP BY q.id, q.queue_name
ORDER BY q.queue_name)sql";

constexpr char kMessageTotals[] = "SELECT " PGQRS_SQL_BUCKETS(
    "COALESCE(SUM(CASE WHEN m.archived_at IS NOT NULL THEN 1 ELSE 0 END), 0)") " FROM pgqrs_messages m";

#undef PGQRS_SQL_BUCKETS
#undef PGQRS_SQL_PENDING
#undef PGQRS_SQL_LIVE

constexpr char kCounts[] = R"sql(
SELECT (SELECT COUNT(*) FROM pgqrs_queues),
       (SELECT COUNT(*) FROM pgqrs_workers),
       (SELECT COUNT(*) FROM pgqrs_workers WHERE status <> 'stopped'))sql";

constexpr char kWorkersByStatus[] =
    "SELECT status, COUNT(*) FROM pgqrs_workers WHERE queue_id = ?1 GROUP BY status";

constexpr char kLeasedInQueue[] = R"sql(
SELECT COUNT(*) FROM pgqrs_messages
WHERE queue_id = ?1 AND archived_at IS NULL AND dead_at IS NULL AND vt > ?2
  AND consumer_worker_id IS NOT NULL)sql";

}  // namespace

QueueMetrics SqlFamilyBackend::queue_metrics(std::string_view queue, TimePoint now,
                                             std::int32_t max_read_ct) {
  return exec_.read("queue_metrics", [&](Session& s) {
    const std::int64_t queue_id = require_queue_id(s, queue);
    auto q = s.query(kQueueMetrics);
    q.bind(now).bind(max_read_ct).bind(queue_id);
    if (!q.step()) throw InternalError("queue_metrics: no row for queue " + std::string(queue));
    return backend::read_queue_metrics(QueryRow(q), now);
  });
}

std::vector<QueueMetrics> SqlFamilyBackend::all_queue_metrics(TimePoint now,
                                                              std::int32_t max_read_ct) {
  return exec_.read("all_queue_metrics", [&](Session& s) {
    std::vector<QueueMetrics> out;
    auto q = s.query(kQueueMetrics);
    q.bind(now).bind(max_read_ct).bind(std::nullopt);
    while (q.step()) out.push_back(backend::read_queue_metrics(QueryRow(q), now));
    return out;
  });
}

SystemStats SqlFamilyBackend::system_stats(TimePoint now, std::int32_t max_read_ct) {
  return exec_.read("system_stats", [&](Session& s) {
    SystemStats st;
    st.backend = name_;
    st.schema_version = read_schema_version(s).value_or(0);
    {
      auto q = s.query(kCounts);
      q.step();
      st.queues = QueryRow(q).count(0);
      st.workers = QueryRow(q).count(1);
      st.active_workers = QueryRow(q).count(2);
    }
    auto q = s.query(kMessageTotals);
    q.bind(now).bind(max_read_ct);
    q.step();
    st.pending = QueryRow(q).count(0);
    st.delayed = QueryRow(q).count(1);
    st.leased = QueryRow(q).count(2);
    st.archived = QueryRow(q).count(3);
    st.dead = QueryRow(q).count(4);
    return st;
  });
}

WorkerStats SqlFamilyBackend::worker_stats(std::string_view queue, TimePoint now) {
  return exec_.read("worker_stats", [&](Session& s) {
    const std::int64_t queue_id = require_queue_id(s, queue);
    WorkerStats st;
    st.queue_name = std::string(queue);
    {
      auto q = s.query(kWorkersByStatus);
      q.bind(queue_id);
      while (q.step()) backend::tally_workers(st, q.text(0), QueryRow(q).count(1));
    }
    auto q = s.query(kLeasedInQueue);
    q.bind(queue_id).bind(now);
    q.step();
    st.leased_messages = QueryRow(q).count(0);
    return st;
  });
}

}  // namespace pgqrs::sqlite_family
