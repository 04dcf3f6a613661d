// PostgresBackend::dequeue_limited: the lease of a queue with limits (issue 14;
// docs/flow-control.md). One transaction:
//  1. lock the queue row FOR UPDATE: every limited dequeue of the queue waits here, so the
//     counts it reads next cannot be changed by another lessor before it commits (the
//     unlimited path never takes this lock, and leases nothing on a limited queue);
//  2. dead-letter sweep, forget rate-window entries older than the period, count what is
//     held (queue-wide, by this consumer, leases in the window);
//  3. read candidates in delivery order (priority, vt, id), page by page, skipping those
//     whose concurrency key is at its limit (no head-of-line blocking);
//  4. lease them and record them in the rate window.
#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <unordered_map>

#include "backend/flow_limits.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// $1 queue name, $2 consumer.
constexpr char kLockLimits[] = R"sql(
WITH w AS (SELECT status FROM {s}.pgqrs_workers WHERE id = $2 FOR SHARE)
SELECT q.id, q.concurrency, q.worker_concurrency, q.key_concurrency, q.rate_limit,
       q.rate_period_us, (SELECT status FROM w)
FROM {s}.pgqrs_queues q WHERE q.queue_name = $1 FOR UPDATE OF q)sql";

// "Leased now". Written so that pgqrs_messages_consumer_idx cannot serve it: that index
// holds every message a consumer ever leased, archived ones included (the whole history);
// the dequeue indexes' range vt > now holds only leased and delayed messages.
#define PGQRS_PG_LEASED \
  " archived_at IS NULL AND dead_at IS NULL AND coalesce(consumer_worker_id, 0) <> 0 AND vt > $2"

// $1 queue id, $2 now, $3 consumer, $4 start of the rate window (NULL: no rate limit),
// $5 max_read_ct, $6 / $7 whether to count the queue's / the consumer's leases (only the
// counts a limit needs are made; the queue-wide one reads the leased range of each dequeue
// index: vt > now, i.e. leased and delayed messages only). The counts read the snapshot from before
// the sweep and the DELETE, so the deleted window entries are subtracted.
constexpr char kCounts[] = R"sql(
WITH dead AS (
       UPDATE {s}.pgqrs_messages SET dead_at = $2, consumer_worker_id = NULL
       WHERE queue_id = $1 AND archived_at IS NULL AND dead_at IS NULL AND read_ct >= $5
         AND (vt <= $2) IS TRUE
       RETURNING 1),
     f AS (DELETE FROM {s}.pgqrs_rate_leases
           WHERE queue_id = $1 AND $4::timestamptz IS NOT NULL AND leased_at <= $4
           RETURNING 1)
SELECT CASE WHEN $6 THEN
         (SELECT count(*) FROM {s}.pgqrs_messages
          WHERE queue_id = $1 AND priority = 0 AND)sql" PGQRS_PG_LEASED R"sql()
         + (SELECT count(*) FROM {s}.pgqrs_messages
            WHERE queue_id = $1 AND priority <> 0 AND)sql" PGQRS_PG_LEASED R"sql() ELSE 0 END,
       CASE WHEN $7 THEN
         (SELECT count(*) FROM {s}.pgqrs_messages
          WHERE queue_id = $1 AND priority = 0 AND consumer_worker_id + 0 = $3
            AND)sql" PGQRS_PG_LEASED R"sql()
         + (SELECT count(*) FROM {s}.pgqrs_messages
            WHERE queue_id = $1 AND priority <> 0 AND consumer_worker_id + 0 = $3
              AND)sql" PGQRS_PG_LEASED R"sql() ELSE 0 END,
       (SELECT count(*) FROM {s}.pgqrs_rate_leases WHERE queue_id = $1)
         - (SELECT count(*) FROM f),
       (SELECT count(*) FROM dead))sql";

// Candidates after ($5 priority, $6 vt, $7 id) in delivery order, one priority range each
// (served by its own index, as in the unlimited statement). $1 queue id, $2 now, $3
// max_read_ct, $4 page size, $8 whether to count the leases held per key (key_concurrency).
#define PGQRS_PG_CANDIDATE_COLUMNS                                                        \
  "SELECT m.id, m.concurrency_key, m.priority, m.vt, CASE WHEN $8 AND m.concurrency_key " \
  "IS NOT NULL THEN (SELECT count(*) FROM {s}.pgqrs_messages h WHERE h.queue_id = $1 "    \
  "AND h.concurrency_key = m.concurrency_key AND h.archived_at IS NULL AND h.dead_at IS " \
  "NULL AND coalesce(h.consumer_worker_id, 0) <> 0 AND h.vt > $2) ELSE 0 END "            \
  "FROM {s}.pgqrs_messages m WHERE m.queue_id = $1 AND m.archived_at IS NULL AND "        \
  "m.dead_at IS NULL AND m.vt <= $2 AND m.read_ct + 0 < $3 AND "
constexpr char kCandidatesBefore[] = PGQRS_PG_CANDIDATE_COLUMNS
    "m.priority <> 0 AND m.priority < 0 AND (m.priority, m.vt, m.id) > ($5::int4, $6, $7) "
    "ORDER BY m.priority, m.vt, m.id LIMIT $4";
constexpr char kCandidatesPlain[] = PGQRS_PG_CANDIDATE_COLUMNS
    "m.priority = 0 AND $5::int4 IS NOT NULL AND (m.vt, m.id) > ($6, $7) "
    "ORDER BY m.vt, m.id LIMIT $4";
constexpr char kCandidatesAfter[] = PGQRS_PG_CANDIDATE_COLUMNS
    "m.priority <> 0 AND m.priority > 0 AND (m.priority, m.vt, m.id) > ($5::int4, $6, $7) "
    "ORDER BY m.priority, m.vt, m.id LIMIT $4";
#undef PGQRS_PG_CANDIDATE_COLUMNS
#undef PGQRS_PG_LEASED

// $1 ids, $2 now, $3 new vt, $4 consumer, $5 queue id, $6 record in the rate window.
constexpr char kLease[] = R"sql(
WITH l AS (
       UPDATE {s}.pgqrs_messages
       SET vt = $3, read_ct = read_ct + 1, dequeued_at = $2, consumer_worker_id = $4
       WHERE id = ANY ($1) AND archived_at IS NULL AND dead_at IS NULL AND vt <= $2
       RETURNING )sql" PGQRS_MESSAGE_COLUMNS R"sql(),
     r AS (INSERT INTO {s}.pgqrs_rate_leases (queue_id, leased_at)
           SELECT $5, $2 FROM l WHERE $6 RETURNING 1)
SELECT *, (SELECT count(*) FROM r) FROM l)sql";

constexpr std::int64_t kMinPage = 64;

}  // namespace

std::vector<QueueMessage> PostgresBackend::dequeue_limited(const backend::DequeueParams& p) {
  return exec_.transaction("dequeue", [&](Session& s) -> std::vector<QueueMessage> {
    const Result lock =
        s.exec(sql_(kLockLimits), Params().text(p.queue).int8(p.consumer_worker_id));
    if (lock.rows() == 0) queue_not_found(p.queue);
    if (lock.is_null(0, 6)) {
      throw WorkerNotFoundError("worker " + std::to_string(p.consumer_worker_id) +
                                " does not exist");
    }
    if (lock.text(0, 6) == "stopped") {
      throw StateTransitionError("worker " + std::to_string(p.consumer_worker_id) +
                                 " is stopped: a stopped worker cannot lease messages");
    }
    const std::int64_t queue_id = lock.int8(0, 0);
    QueueOptions limits;
    limits.concurrency = lock.optional_int8(0, 1);
    limits.worker_concurrency = lock.optional_int8(0, 2);
    limits.key_concurrency = lock.optional_int8(0, 3);
    if (!lock.is_null(0, 4) && !lock.is_null(0, 5)) {
      limits.rate_limit = RateLimit{lock.int8(0, 4), std::chrono::microseconds(lock.int8(0, 5))};
    }
    Params counts;
    counts.int8(queue_id).time(p.now).int8(p.consumer_worker_id);
    if (limits.rate_limit) {
      counts.time(p.now - limits.rate_limit->period);
    } else {
      counts.null(kTimestamptzOid);
    }
    counts.int4(p.max_read_ct)
        .boolean(limits.concurrency.has_value())
        .boolean(limits.worker_concurrency.has_value());
    const Result c = s.exec(sql_(kCounts), counts);
    backend::HeldLeases held{c.int8(0, 0), c.int8(0, 1), c.int8(0, 2)};
    const std::int64_t budget = backend::lease_budget(p.limit, limits, held);
    if (budget == 0) return {};

    // Per key: leases held, as read with the candidates (the queue lock keeps it current).
    std::unordered_map<std::string, std::int64_t> key_held;
    backend::KeyGate keys(limits.key_concurrency,
                          [&](const std::string& key) { return key_held[key]; });
    const std::int64_t page = keys.active() ? std::max(budget * 4, kMinPage) : budget;
    std::vector<std::int64_t> picked;
    for (const char* sql : {kCandidatesBefore, kCandidatesPlain, kCandidatesAfter}) {
      std::int32_t after_priority = std::numeric_limits<std::int32_t>::min();
      TimePoint after_vt{};
      std::int64_t after_id = 0;
      bool more = true;
      while (more && static_cast<std::int64_t>(picked.size()) < budget) {
        Params cp;
        cp.int8(queue_id)
            .time(p.now)
            .int4(p.max_read_ct)
            .int8(page)
            .int4(after_priority)
            .time(after_vt)
            .int8(after_id)
            .boolean(keys.active());
        const Result r = s.exec(sql_(sql), cp);
        more = r.rows() == page;
        for (int i = 0; i < r.rows() && static_cast<std::int64_t>(picked.size()) < budget; ++i) {
          after_id = r.int8(i, 0);
          after_priority = r.int4(i, 2);
          after_vt = r.time(i, 3);
          std::optional<std::string> key;
          if (!r.is_null(i, 1)) {
            key = r.text(i, 1);
            key_held.emplace(*key, r.int8(i, 4));
          }
          if (keys.admit(key)) picked.push_back(after_id);
        }
      }
    }
    if (picked.empty()) return {};
    Params lp;
    lp.int8_array(picked)
        .time(p.now)
        .time(p.now + p.lease)
        .int8(p.consumer_worker_id)
        .int8(queue_id)
        .boolean(limits.rate_limit.has_value());
    const Result l = s.exec(sql_(kLease), lp);
    std::unordered_map<std::int64_t, QueueMessage> by_id;
    for (int i = 0; i < l.rows(); ++i) {
      QueueMessage m = backend::read_message(PgRow(l, i));
      by_id.emplace(m.id, std::move(m));
    }
    std::vector<QueueMessage> out;
    out.reserve(by_id.size());
    for (const std::int64_t id : picked) {
      auto it = by_id.find(id);
      if (it != by_id.end()) out.push_back(std::move(it->second));
    }
    return out;
  });
}

}  // namespace pgqrs::pg
