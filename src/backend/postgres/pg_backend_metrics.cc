// PostgresBackend: queue metrics, system stats and worker stats.
//
// Buckets (records.h, QueueMetrics) for a message row at time `now`; every row is in
// exactly one bucket (the same definitions as the SQLite family):
//   archived : archived_at set
//   dead     : dead_at set, or live and visible with read_ct >= max_read_ct
//   pending  : live, vt <= now, read_ct < max_read_ct
//   leased   : live, vt > now, consumer_worker_id set
//   delayed  : live, vt > now, consumer_worker_id NULL
// where "live" = archived_at NULL and dead_at NULL.
#include <algorithm>
#include <chrono>
#include <string>

#include "backend/postgres/migrations.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "backend/worker_tally.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// Bucket counts over the message rows `m`; $1 = now, $2 = max_read_ct.
#define PGQRS_PG_LIVE "m.archived_at IS NULL AND m.dead_at IS NULL"
#define PGQRS_PG_PENDING PGQRS_PG_LIVE " AND m.vt <= $1 AND m.read_ct < $2"
#define PGQRS_PG_BUCKETS                                            \
  "count(*) FILTER (WHERE " PGQRS_PG_PENDING                        \
  "), "                                                             \
  "count(*) FILTER (WHERE " PGQRS_PG_LIVE                           \
  " AND m.vt > $1 AND m.consumer_worker_id IS NULL), "              \
  "count(*) FILTER (WHERE " PGQRS_PG_LIVE                           \
  " AND m.vt > $1 AND m.consumer_worker_id IS NOT NULL), "          \
  "count(*) FILTER (WHERE m.archived_at IS NOT NULL), "             \
  "count(*) FILTER (WHERE m.dead_at IS NOT NULL OR (" PGQRS_PG_LIVE \
  " AND m.vt <= $1 AND m.read_ct >= $2)), "                         \
  "min(m.enqueued_at) FILTER (WHERE " PGQRS_PG_PENDING ")"

// The live message rows (queue_id, vt, read_ct, consumer_worker_id, enqueued_at), each read
// through one of the three partial indexes that together hold every live row: the dequeue
// index (priority 0, nobody holds it), the priority index (other priorities) and the held
// index (schema steps 8 and 10). Each branch spells its index's predicate, so a generic plan
// proves it; FILTER (on alias m) is applied in each branch.
#define PGQRS_PG_LIVE_BRANCH(HOLDER, FILTER)                                                 \
  " SELECT m.queue_id, m.vt, m.read_ct, m.consumer_worker_id, m.enqueued_at"                 \
  " FROM {s}.pgqrs_messages m WHERE m.archived_at IS NULL AND m.dead_at IS NULL AND " HOLDER \
  " " FILTER
#define PGQRS_PG_LIVE_ROWS(FILTER) \
  "(" PGQRS_PG_LIVE_BRANCH("m.priority = 0 AND m.consumer_worker_id IS NULL", FILTER) \
  " UNION ALL"                                                                        \
  PGQRS_PG_LIVE_BRANCH("m.priority <> 0 AND m.consumer_worker_id IS NULL", FILTER)    \
  " UNION ALL" PGQRS_PG_LIVE_BRANCH("m.consumer_worker_id IS NOT NULL", FILTER) ") m"

// One row per queue, read from bounded sources rather than one pass over every row (a
// scrape must stay cheap with millions of archived rows; docs/benchmarks.md): the live rows
// (PGQRS_PG_LIVE_ROWS), the dead_at rows through pgqrs_messages_dead_idx, and the archived total
// from the queue's counter rows (pgqrs_archived_counts, kept by the statements that archive and
// delete; W8), so history costs nothing. FILTER narrows the message rows to one queue or is empty;
// QFILTER the counter rows.
#define PGQRS_PG_QUEUE_METRICS(FILTER, QFILTER) \
  "WITH live AS ("                                                                          \
  " SELECT m.queue_id,"                                                                     \
  "  count(*) FILTER (WHERE m.vt <= $1 AND m.read_ct < $2) AS pending,"                     \
  "  count(*) FILTER (WHERE m.vt > $1 AND m.consumer_worker_id IS NULL) AS delayed,"        \
  "  count(*) FILTER (WHERE m.vt > $1 AND m.consumer_worker_id IS NOT NULL) AS leased,"     \
  "  count(*) FILTER (WHERE m.vt <= $1 AND m.read_ct >= $2) AS spent,"                      \
  "  min(m.enqueued_at) FILTER (WHERE m.vt <= $1 AND m.read_ct < $2) AS oldest"             \
  " FROM " PGQRS_PG_LIVE_ROWS(FILTER)                                                       \
  " GROUP BY m.queue_id),"                                                                  \
  " dead AS (SELECT m.queue_id, count(*) AS n FROM {s}.pgqrs_messages m"                    \
  " WHERE m.dead_at IS NOT NULL " FILTER                                                    \
  " GROUP BY m.queue_id),"                                                                  \
  " archived AS (SELECT c.queue_id, sum(c.n)::bigint AS n FROM {s}.pgqrs_archived_counts c" \
  " WHERE true " QFILTER                                                                    \
  " GROUP BY c.queue_id)"                                                                   \
  " SELECT q.id, q.queue_name, coalesce(l.pending, 0), coalesce(l.delayed, 0),"             \
  "  coalesce(l.leased, 0), coalesce(t.n, 0),"                                              \
  "  coalesce(d.n, 0) + coalesce(l.spent, 0), l.oldest"                                     \
  " FROM {s}.pgqrs_queues q"                                                                \
  " LEFT JOIN live l ON l.queue_id = q.id"                                                  \
  " LEFT JOIN dead d ON d.queue_id = q.id"                                                  \
  " LEFT JOIN archived t ON t.queue_id = q.id"

// $1 = now, $2 = max_read_ct, $3 = the queue name.
constexpr char kQueueMetrics[] = PGQRS_PG_QUEUE_METRICS(
    "AND m.queue_id = (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $3)",
    "AND c.queue_id = (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $3)")
    " WHERE q.queue_name = $3";
// $1 = now, $2 = max_read_ct; every queue, ordered by name.
constexpr char kAllQueueMetrics[] =
    PGQRS_PG_QUEUE_METRICS("", "") " ORDER BY q.queue_name COLLATE \"C\"";
#undef PGQRS_PG_QUEUE_METRICS
#undef PGQRS_PG_LIVE_ROWS
#undef PGQRS_PG_LIVE_BRANCH

constexpr char kTotals[] = R"sql(
SELECT (SELECT count(*) FROM {s}.pgqrs_queues),
       (SELECT count(*) FROM {s}.pgqrs_workers),
       (SELECT count(*) FROM {s}.pgqrs_workers WHERE status <> 'stopped'),
       )sql" PGQRS_PG_BUCKETS " FROM {s}.pgqrs_messages m";

#undef PGQRS_PG_BUCKETS
#undef PGQRS_PG_PENDING
#undef PGQRS_PG_LIVE

constexpr char kQueueId[] = "SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1";

constexpr char kWorkersByStatus[] =
    "SELECT status, count(*) FROM {s}.pgqrs_workers WHERE queue_id = $1 GROUP BY status";

constexpr char kLeasedInQueue[] = R"sql(
SELECT count(*) FROM {s}.pgqrs_messages
WHERE queue_id = $1 AND archived_at IS NULL AND dead_at IS NULL AND vt > $2
  AND consumer_worker_id IS NOT NULL)sql";

}  // namespace

QueueMetrics PostgresBackend::queue_metrics(std::string_view queue, TimePoint now,
                                            std::int32_t max_read_ct) {
  return exec_.read("queue_metrics", [&](Session& s) {
    auto r = s.exec(sql_(kQueueMetrics), Params().time(now).int4(max_read_ct).text(queue));
    if (r.rows() == 0) queue_not_found(queue);
    return backend::read_queue_metrics(PgRow(r, 0), now);
  });
}

std::vector<QueueMetrics> PostgresBackend::all_queue_metrics(TimePoint now,
                                                             std::int32_t max_read_ct) {
  return exec_.read("all_queue_metrics", [&](Session& s) {
    auto r = s.exec(sql_(kAllQueueMetrics), Params().time(now).int4(max_read_ct));
    std::vector<QueueMetrics> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_queue_metrics(PgRow(r, i), now));
    return out;
  });
}

SystemStats PostgresBackend::system_stats(TimePoint now, std::int32_t max_read_ct) {
  return exec_.read("system_stats", [&](Session& s) {
    SystemStats st;
    st.backend = std::string(name());
    st.schema_version = read_schema_version(s, sql_).value_or(0);
    auto r = s.exec(sql_(kTotals), Params().time(now).int4(max_read_ct));
    const PgRow row(r, 0);
    st.queues = row.count(0);
    st.workers = row.count(1);
    st.active_workers = row.count(2);
    st.pending = row.count(3);
    st.delayed = row.count(4);
    st.leased = row.count(5);
    st.archived = row.count(6);
    st.dead = row.count(7);
    return st;
  });
}

WorkerStats PostgresBackend::worker_stats(std::string_view queue, TimePoint now) {
  return exec_.read("worker_stats", [&](Session& s) {
    auto q = s.exec(sql_(kQueueId), Params().text(queue));
    if (q.rows() == 0) queue_not_found(queue);
    const std::int64_t queue_id = q.int8(0, 0);
    WorkerStats st;
    st.queue_name = std::string(queue);
    auto r = s.exec(sql_(kWorkersByStatus), Params().int8(queue_id));
    for (int i = 0; i < r.rows(); ++i)
      backend::tally_workers(st, r.text(i, 0), PgRow(r, i).count(1));
    st.leased_messages =
        PgRow(s.exec(sql_(kLeasedInQueue), Params().int8(queue_id).time(now)), 0).count(0);
    return st;
  });
}

}  // namespace pgqrs::pg
