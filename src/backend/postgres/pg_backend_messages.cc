// PostgresBackend: enqueue, dequeue, message reads and dead letters.
#include <algorithm>
#include <string>
#include <unordered_set>

#include "backend/postgres/archived_counts_sql.h"
#include "backend/postgres/dead_sweep_sql.h"
#include "backend/postgres/flow_sql.h"
#include "backend/postgres/message_sql.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// Dequeue in one statement. $1 queue name, $2 now, $3 new vt, $4 consumer, $5 max_read_ct,
// $6 limit.
// Each step's predicates are written so that only its intended index can serve it,
// whatever the statistics (generic plans are made once per connection, often while the
// statistics of a young table are wrong): "read_ct + 0" keeps the read_ct index of the dead
// sweep out of the candidate scans.
//  - dead: the dead-letter sweep (dead_sweep_sql.h): live messages visible now and already
//    delivered max_read_ct times, at most 100 expired leases and 100 returned messages per
//    dequeue, each read from an index that holds only such rows (decision P12). Marking only
//    some of them is invisible through the API: they are dead letters by definition
//    (backend.h) whether or not dead_at is set yet, and the candidate scans skip them
//    (read_ct + 0 < $5);
//  - c0, c1, c2: the deliverable messages nobody holds with priority < 0, = 0, > 0 (delivery
//    order is (priority, vt, id)), each range served in order by its own index: c1, the
//    common case, is exactly the statement before priorities existed (pgqrs_messages_dequeue_idx
//    holds the priority-0 messages nobody holds). A range is read only while the ones before
//    it had fewer than $6 (a one-time filter); each has a plain LIMIT $6, never an
//    expression, which the planner could not cost. When a range tops up a partial one, up to
//    $6 extra rows stay locked (not leased) until this statement commits;
//  - ch: expired leases (held rows whose vt has passed), from pgqrs_messages_held_idx, every
//    priority, sorted (there are few: at most what crashed or slow consumers held). Leases
//    live in their own index since schema step 8 (decision P10), so that a lease's row
//    version never lands among the messages waiting in the dequeue indexes;
//  - c: the first $6 deliverable messages in delivery order (vt, id), served in that order
//    by pgqrs_messages_dequeue_idx; rows another transaction is leasing right now are
//    skipped, never waited for (SKIP LOCKED), and a row leased meanwhile is re-checked
//    against vt <= now and dropped;
//  - l: lease them. The updates find their rows with "id = ANY (ARRAY(subquery))", i.e.
//    through the primary key: written as a join (UPDATE ... FROM c, or id IN (...)), a
//    generic plan estimates c at 10% of the table and hash-joins it against a sequential
//    scan of the whole message table (measured: 1.5 ms per dequeue at 10,000 rows).
// The consumer's row is share-locked (w): a concurrent status change is waited for and the
// latest status read, and no status change can commit until this lease has; a missing or
// stopped consumer leases nothing.
// One row always comes back: queue id (NULL = no such queue), the consumer's status (NULL =
// no such worker), then the leased message (NULL columns when none), in delivery order.
constexpr char kDequeueCtes[] = R"sql(
     q AS (SELECT id, (concurrency IS NULL AND worker_concurrency IS NULL AND
                       key_concurrency IS NULL AND rate_limit IS NULL) AS free
           FROM {s}.pgqrs_queues WHERE queue_name = $1),
     w AS (SELECT status FROM {s}.pgqrs_workers WHERE id = $4 FOR SHARE),
     )sql" PGQRS_PG_DEAD_SWEEP("(SELECT id FROM q)", "$2", "$5",
                               " AND (SELECT status FROM w) <> 'stopped'") R"sql(,
     c0 AS (
       SELECT id, priority, vt FROM {s}.pgqrs_messages
       WHERE queue_id = (SELECT id FROM q) AND archived_at IS NULL AND dead_at IS NULL
         AND priority <> 0 AND priority < 0 AND consumer_worker_id IS NULL
         AND (SELECT free FROM q)
         AND vt <= $2 AND read_ct + 0 < $5 AND (SELECT status FROM w) <> 'stopped'
       ORDER BY priority, vt, id LIMIT $6
       FOR UPDATE SKIP LOCKED),
     c1 AS (
       SELECT id, priority, vt FROM {s}.pgqrs_messages
       WHERE queue_id = (SELECT id FROM q) AND archived_at IS NULL AND dead_at IS NULL
         AND priority = 0 AND consumer_worker_id IS NULL
         AND (SELECT free FROM q)
         AND vt <= $2 AND read_ct + 0 < $5 AND (SELECT status FROM w) <> 'stopped'
         AND (SELECT count(*) FROM c0) < $6
       ORDER BY vt, id LIMIT $6
       FOR UPDATE SKIP LOCKED),
     c2 AS (
       SELECT id, priority, vt FROM {s}.pgqrs_messages
       WHERE queue_id = (SELECT id FROM q) AND archived_at IS NULL AND dead_at IS NULL
         AND priority <> 0 AND priority > 0 AND consumer_worker_id IS NULL
         AND (SELECT free FROM q)
         AND vt <= $2 AND read_ct + 0 < $5 AND (SELECT status FROM w) <> 'stopped'
         AND (SELECT count(*) FROM c0) + (SELECT count(*) FROM c1) < $6
       ORDER BY priority, vt, id LIMIT $6
       FOR UPDATE SKIP LOCKED),
     ch AS (
       SELECT id, priority, vt FROM {s}.pgqrs_messages
       WHERE queue_id = (SELECT id FROM q) AND archived_at IS NULL AND dead_at IS NULL
         AND consumer_worker_id IS NOT NULL AND (SELECT free FROM q)
         AND vt <= $2 AND read_ct + 0 < $5 AND (SELECT status FROM w) <> 'stopped'
       ORDER BY priority, vt, id LIMIT $6
       FOR UPDATE SKIP LOCKED),
     c AS (SELECT * FROM c0 UNION ALL SELECT * FROM c1 UNION ALL SELECT * FROM c2
           UNION ALL SELECT * FROM ch),
     l AS (
       UPDATE {s}.pgqrs_messages
       SET vt = $3, read_ct = read_ct + 1, dequeued_at = $2, consumer_worker_id = $4
       WHERE id = ANY (ARRAY(SELECT id FROM c ORDER BY priority, vt, id LIMIT $6))
       RETURNING )sql" PGQRS_MESSAGE_COLUMNS ")";

constexpr char kDequeueRows[] = R"sql(
       l.id, l.queue_id, l.payload, l.vt, l.enqueued_at, l.read_ct, l.dequeued_at,
       l.producer_worker_id, l.consumer_worker_id, l.archived_at, l.dead_at, l.priority,
       l.dedup_key, l.concurrency_key, l.traceparent, l.tracestate
FROM (SELECT 1) AS one LEFT JOIN (l JOIN c ON c.id = l.id) ON true
ORDER BY c.priority, c.vt, c.id)sql";

// Statement templates assembled once (StatementCache wants static storage).
const char* dequeue_sql() {
  static const std::string sql = std::string("WITH ") + kDequeueCtes +
                                 "\nSELECT (SELECT id FROM q), (SELECT status FROM w), "
                                 "(SELECT count(*) FROM dead), (SELECT free FROM q)," +
                                 kDequeueRows;
  return sql.c_str();
}

// The poll loop's step in one statement, so one round trip and one commit: archive the
// messages $7 (int8[]) that $4 holds now (the owner test of pg_backend_leases.cc, written
// the same way so that only the primary key serves it), then lease as kDequeue. The rows
// archived here have vt > $2, so the lease cannot pick them. Column 3 = the archived ids,
// the message columns start at 4.
const char* archive_and_dequeue_sql() {
  static const std::string sql =
      std::string(R"sql(
WITH a AS (
       UPDATE {s}.pgqrs_messages SET archived_at = $2
       WHERE id = ANY($7) AND coalesce(consumer_worker_id, 0) = $4 AND vt > $2
         AND coalesce(archived_at, dead_at) IS NULL
       RETURNING id, queue_id),
     )sql" PGQRS_PG_COUNT_ARCHIVED("a", "$4") ",") +
      kDequeueCtes +
      "\nSELECT (SELECT id FROM q), (SELECT status FROM w), (SELECT count(*) FROM dead), "
      "ARRAY(SELECT id FROM a), (SELECT free FROM q)," +
      kDequeueRows;
  return sql.c_str();
}

constexpr char kMessageById[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM {s}.pgqrs_messages WHERE id = $1";

// One row per message, or one row with NULL message columns when the queue has none;
// no row when the queue does not exist. $2 include archived, $3 limit, $4 before_id (NULL:
// the first page). pgqrs_messages_queue_idx (queue_id, id) serves the range and the order,
// so a page is one index range scan however deep it is.
constexpr char kListMessages[] = R"sql(
SELECT q.id, m.* FROM {s}.pgqrs_queues q
LEFT JOIN LATERAL (
  SELECT )sql" PGQRS_MESSAGE_COLUMNS R"sql( FROM {s}.pgqrs_messages
  WHERE queue_id = q.id AND ($2 OR archived_at IS NULL)
    AND id < COALESCE($4, 9223372036854775807)
  ORDER BY id DESC LIMIT $3) m ON true
WHERE q.queue_name = $1
ORDER BY m.id DESC)sql";

constexpr char kQueueId[] = "SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1";

// The dead-letter predicate (backend.h): dead_at set, or live, visible and delivered
// max_read_ct times already (the next dequeue that reaches it would mark it dead).
#define PGQRS_PG_IS_DEAD_LETTER \
  "archived_at IS NULL AND (dead_at IS NOT NULL OR (vt <= $2 AND read_ct >= $3))"

// $1 queue id or NULL, $2 now, $3 max_read_ct, $4 before_id or NULL, $5 limit or NULL (all).
// Newest first, walking an id index down from before_id.
constexpr char kDeadLetters[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS
    " FROM {s}.pgqrs_messages WHERE ($1::int8 IS NULL OR queue_id = $1) "
    "AND id < COALESCE($4::int8, 9223372036854775807) AND " PGQRS_PG_IS_DEAD_LETTER
    " ORDER BY id DESC LIMIT $5::int8";

// $4 channel: the replayed message is deliverable now, so wake consumers of its queue.
constexpr char kReplay[] = R"sql(
WITH r AS (
  UPDATE {s}.pgqrs_messages
  SET read_ct = 0, vt = $2, dead_at = NULL, consumer_worker_id = NULL
  WHERE id = $1 AND )sql" PGQRS_PG_IS_DEAD_LETTER R"sql(
  RETURNING queue_id),
     n AS (SELECT pg_notify($4, q.queue_name) FROM {s}.pgqrs_queues q
           WHERE q.id IN (SELECT queue_id FROM r))
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n))sql";

#undef PGQRS_PG_IS_DEAD_LETTER

}  // namespace

std::vector<std::int64_t> PostgresBackend::enqueue(const backend::EnqueueParams& p) {
  std::vector<std::int64_t> ids;
  if (!p.flow.empty()) {
    ids = exec_.transaction("enqueue",
                            [&](Session& s) { return enqueue_flow(s, sql_, p, channel_); });
  } else {
    const Params params = enqueue_params(p, channel_, NotifyIn::kCaller);
    ids = exec_.write(
        "enqueue", [&](Session& s) { return enqueue_result(s.exec(sql_(kEnqueue), params), p); });
  }
  if (!ids.empty() && p.visible_at <= p.now) notify_after_commit(p.queue);
  return ids;
}

namespace {

// The leased messages of a kDequeue-shaped result whose message columns start at `first`;
// throws for a missing worker or queue and a stopped worker.
std::vector<QueueMessage> leased_rows(const Result& r, const backend::DequeueParams& p, int first) {
  if (r.is_null(0, 1)) {
    throw WorkerNotFoundError("worker " + std::to_string(p.consumer_worker_id) + " does not exist");
  }
  if (r.text(0, 1) == "stopped") {
    throw StateTransitionError("worker " + std::to_string(p.consumer_worker_id) +
                               " is stopped: a stopped worker cannot lease messages");
  }
  if (r.is_null(0, 0)) throw QueueNotFoundError("queue '" + p.queue + "' does not exist");
  std::vector<QueueMessage> leased;
  leased.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    if (r.is_null(i, first)) continue;
    leased.push_back(backend::read_message(PgRow(r, i, first)));
  }
  return leased;
}

}  // namespace

// A queue with limits leases nothing in the unlimited statement (q.free is false): it goes
// through dequeue_limited (flow_lease.cc). A queue last seen with limits goes there directly
// (decision F10), so both kinds of queue cost one round trip per dequeue.
std::vector<QueueMessage> PostgresBackend::dequeue(const backend::DequeueParams& p) {
  if (limited_.contains(p.queue)) return dequeue_limited({}, p).leased;
  bool limited = false;
  auto leased = exec_.write("dequeue", [&](Session& s) {
    auto r = s.exec(sql_(dequeue_sql()), dequeue_params(p));
    auto rows = leased_rows(r, p, 4);
    limited = !r.boolean(0, 3);
    return rows;
  });
  if (limited) return dequeue_limited({}, p).leased;
  return leased;
}

backend::Backend::ArchiveAndLease PostgresBackend::archive_and_dequeue(
    const std::vector<std::int64_t>& ids, const backend::DequeueParams& p) {
  if (ids.empty()) return {{}, dequeue(p)};
  if (limited_.contains(p.queue)) return dequeue_limited(ids, p);
  bool limited = false;
  ArchiveAndLease result = exec_.write("archive_and_dequeue", [&](Session& s) {
    auto r = s.exec(sql_(archive_and_dequeue_sql()), dequeue_params(p).int8_array(ids));
    ArchiveAndLease out;
    const std::vector<std::int64_t> archived = r.int8_array(0, 3);
    std::unordered_set<std::int64_t> applied(archived.begin(), archived.end());
    out.archived.reserve(ids.size());
    for (const std::int64_t id : ids) out.archived.push_back(applied.erase(id) > 0);
    out.leased = leased_rows(r, p, 5);
    limited = !r.boolean(0, 4);
    return out;
  });
  // A limited queue: the archive is committed; the lease is its own call.
  if (limited) result.leased = dequeue_limited({}, p).leased;
  return result;
}

std::optional<QueueMessage> PostgresBackend::get_message(std::int64_t id) {
  return exec_.read("get_message", [&](Session& s) -> std::optional<QueueMessage> {
    auto r = s.exec(sql_(kMessageById), Params().int8(id));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_message(PgRow(r, 0));
  });
}

std::vector<QueueMessage> PostgresBackend::list_messages(std::string_view queue,
                                                         std::uint32_t limit, bool include_archived,
                                                         std::optional<std::int64_t> before_id) {
  return exec_.read("list_messages", [&](Session& s) {
    auto r =
        s.exec(sql_(kListMessages),
               Params().text(queue).boolean(include_archived).int8(limit).optional_int8(before_id));
    if (r.rows() == 0) queue_not_found(queue);
    std::vector<QueueMessage> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      if (r.is_null(i, 1)) continue;
      out.push_back(backend::read_message(PgRow(r, i, 1)));
    }
    return out;
  });
}

std::vector<QueueMessage> PostgresBackend::dead_letters(std::optional<std::string_view> queue,
                                                        TimePoint now, std::int32_t max_read_ct,
                                                        std::optional<std::uint32_t> limit,
                                                        std::optional<std::int64_t> before_id) {
  return exec_.read("dead_letters", [&](Session& s) {
    Params params;
    if (queue) {
      auto q = s.exec(sql_(kQueueId), Params().text(*queue));
      if (q.rows() == 0) queue_not_found(*queue);
      params.int8(q.int8(0, 0));
    } else {
      params.null(kInt8Oid);
    }
    params.time(now).int4(max_read_ct).optional_int8(before_id);
    params.optional_int8(limit ? std::optional<std::int64_t>(*limit) : std::nullopt);
    auto r = s.exec(sql_(kDeadLetters), params);
    std::vector<QueueMessage> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_message(PgRow(r, i)));
    return out;
  });
}

bool PostgresBackend::replay_dead_letter(std::int64_t id, TimePoint now, std::int32_t max_read_ct) {
  return exec_.write("replay_dead_letter", [&](Session& s) {
    auto r = s.exec(sql_(kReplay), Params().int8(id).time(now).int4(max_read_ct).text(channel_));
    return r.int8(0, 0) > 0;
  });
}

}  // namespace pgqrs::pg
