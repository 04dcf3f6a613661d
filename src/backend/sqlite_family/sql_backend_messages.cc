// SqlFamilyBackend: enqueue, dequeue, message reads and dead letters.
#include <chrono>
#include <limits>
#include <string>

#include "backend/flow_limits.h"

#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

// The `id < ?` bound of a list that is not paged (keyset paging: before_id).
constexpr std::int64_t kNoIdBound = std::numeric_limits<std::int64_t>::max();

// Dequeue, step 1: dead-letter the first ?4 visible live messages (in (vt, id) order) that
// were already delivered max_read_ct (?3) times. The unary "+" keeps vt out of index
// selection so SQLite seeks pgqrs_messages_redelivery_idx (read_ct >= ?3: usually a handful
// of rows) and sorts those, instead of walking the whole visible backlog in vt order.
constexpr char kMarkDead[] = R"sql(
UPDATE pgqrs_messages SET dead_at = ?1, consumer_worker_id = NULL
WHERE id IN (
  SELECT id FROM pgqrs_messages
  WHERE queue_id = (SELECT id FROM pgqrs_queues WHERE queue_name = ?2)
    AND archived_at IS NULL AND dead_at IS NULL AND +vt <= ?1 AND read_ct >= ?3
  ORDER BY +vt, id LIMIT ?4))sql";

// Dequeue, step 2: the queue row with its limits (NULL = unset).
constexpr char kQueueLimits[] = R"sql(
SELECT id, concurrency, worker_concurrency, key_concurrency, rate_limit, rate_period_us
FROM pgqrs_queues WHERE queue_name = ?1)sql";

// Step 3: deliverable messages in delivery order (priority, vt, id), read in three ranges so
// that each is served in order by its own index: priority < 0 and > 0 from
// pgqrs_messages_priority_idx, priority 0 (the common case) from pgqrs_messages_dequeue_idx
// exactly as before priorities existed ("+read_ct" keeps the planner on the index).
// ?1 queue id, ?2 now, ?3 max_read_ct, ?4 limit (-1: no limit, for the key filter).
#define PGQRS_SQL_DELIVERABLE                                                                 \
  " FROM pgqrs_messages WHERE queue_id = ?1 AND archived_at IS NULL AND dead_at IS NULL AND " \
  "vt <= ?2 AND +read_ct < ?3 AND "
constexpr char kCandidatesBefore[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS PGQRS_SQL_DELIVERABLE
    "priority <> 0 AND priority < 0 ORDER BY priority, vt, id LIMIT ?4";
constexpr char kCandidatesPlain[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS PGQRS_SQL_DELIVERABLE "priority = 0 ORDER BY vt, id LIMIT ?4";
constexpr char kCandidatesAfter[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS PGQRS_SQL_DELIVERABLE
    "priority <> 0 AND priority > 0 ORDER BY priority, vt, id LIMIT ?4";
#undef PGQRS_SQL_DELIVERABLE

// Held leases (limited queues only): ?1 queue id, ?2 now, ?3 consumer, ?4 concurrency key.
// "Leased now"; "+" keeps pgqrs_messages_consumer_idx (every message a consumer ever leased,
// archived ones included) out of it: the dequeue indexes' range vt > now holds only leased
// and delayed messages.
#define PGQRS_SQL_LEASED \
  " archived_at IS NULL AND dead_at IS NULL AND +consumer_worker_id IS NOT NULL AND vt > ?2"
// Per priority range, so that each is read from its dequeue index (vt > now: only leased and
// delayed messages), never the whole queue.
constexpr char kHeldByQueue[] =
    "SELECT (SELECT COUNT(*) FROM pgqrs_messages WHERE queue_id = ?1 AND priority = 0 "
    "AND" PGQRS_SQL_LEASED
    ") + (SELECT COUNT(*) FROM pgqrs_messages WHERE queue_id = ?1 AND "
    "priority <> 0 AND" PGQRS_SQL_LEASED ")";
constexpr char kHeldByWorker[] =
    "SELECT (SELECT COUNT(*) FROM pgqrs_messages WHERE queue_id = ?1 AND priority = 0 AND "
    "+consumer_worker_id = ?3 AND" PGQRS_SQL_LEASED
    ") + (SELECT COUNT(*) FROM pgqrs_messages "
    "WHERE queue_id = ?1 AND priority <> 0 AND +consumer_worker_id = ?3 AND" PGQRS_SQL_LEASED ")";
constexpr char kHeldByKey[] =
    "SELECT COUNT(*) FROM pgqrs_messages WHERE queue_id = ?1 AND concurrency_key = ?3 "
    "AND" PGQRS_SQL_LEASED;
#undef PGQRS_SQL_LEASED
// The rate window (backend/flow_limits.h, F12): ?2 = now - period - kRateLeaseKeep for the
// rows to forget, now - period for the rows that count.
constexpr char kRateForget[] =
    "DELETE FROM pgqrs_rate_leases WHERE queue_id = ?1 AND leased_at <= ?2";
constexpr char kRateUsed[] =
    "SELECT COUNT(*) FROM pgqrs_rate_leases WHERE queue_id = ?1 AND leased_at > ?2";
constexpr char kRateRecord[] =
    "INSERT INTO pgqrs_rate_leases (queue_id, leased_at) VALUES (?1, ?2)";

std::int64_t count_of(Query&& q) {
  q.step();
  return q.int64(0);
}

// Dequeue, step 3, per candidate: take the lease.
constexpr char kLease[] = R"sql(
UPDATE pgqrs_messages
SET vt = ?1, read_ct = read_ct + 1, dequeued_at = ?2, consumer_worker_id = ?3
WHERE id = ?4)sql";

constexpr char kMessageById[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM pgqrs_messages WHERE id = ?1";

// ?1 queue id, ?2 include archived, ?3 limit, ?4 before_id (kNoIdBound: the first page).
// pgqrs_messages_queue_idx (queue_id, then the implicit rowid) serves both the id range and
// the order, so each page is one range scan of `limit` rows however deep it is.
constexpr char kListMessages[] = "SELECT " PGQRS_MESSAGE_COLUMNS R"sql(
FROM pgqrs_messages
WHERE queue_id = ?1 AND (?2 OR archived_at IS NULL) AND id < ?4
ORDER BY id DESC LIMIT ?3)sql";

// The dead-letter predicate (backend.h): dead_at set, or live, visible and delivered
// max_read_ct times already (it would be marked dead by the next dequeue that reaches it).
#define PGQRS_SQL_IS_DEAD_LETTER \
  "archived_at IS NULL AND (dead_at IS NOT NULL OR (vt <= ?2 AND read_ct >= ?3))"

// ?1 queue id or NULL, ?2 now, ?3 max_read_ct, ?4 before_id (kNoIdBound: the first page),
// ?5 limit (-1: all). Newest first, walking the id (rowid) range down.
// clang-format off
constexpr char kDeadLetters[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM pgqrs_messages"
    " WHERE (?1 IS NULL OR queue_id = ?1) AND id < ?4 AND " PGQRS_SQL_IS_DEAD_LETTER
    " ORDER BY id DESC LIMIT ?5";
// clang-format on

constexpr char kReplay[] =
    "UPDATE pgqrs_messages SET read_ct = 0, vt = ?2, dead_at = NULL, consumer_worker_id = NULL "
    "WHERE id = ?1 AND " PGQRS_SQL_IS_DEAD_LETTER;

#undef PGQRS_SQL_IS_DEAD_LETTER

}  // namespace

std::vector<std::int64_t> SqlFamilyBackend::enqueue(const backend::EnqueueParams& p) {
  return exec_.write("enqueue", [&](Session& s) {
    const std::int64_t queue_id = require_queue_id(s, p.queue);
    if (p.producer_worker_id) require_worker_status(s, *p.producer_worker_id);
    if (!p.flow.empty()) return enqueue_flow(s, queue_id, p);
    std::vector<std::int64_t> ids;
    ids.reserve(p.payloads.size());
    for (const std::string& payload : p.payloads) {
      ids.push_back(
          insert_message(s, queue_id, payload, p.visible_at, p.now, p.producer_worker_id, p.trace));
    }
    return ids;
  });
}

// One BEGIN IMMEDIATE transaction: (1) read the queue's limits, dead-letter up to `limit`
// exhausted candidates, (2) on a limited queue count what is held (queue-wide, by this
// consumer, in the rate window) to get the budget, (3) select candidates in delivery order
// (priority, vt, id), skipping those whose concurrency key is at its limit, (4) lease them
// (and record them in the rate window). The result keeps the order of step 3. Selecting
// before updating is safe because the write lock is held from BEGIN: no other connection
// can change the rows, so the counts are exact across processes.
//
// The consumer must exist (WorkerNotFoundError) and must not be stopped
// (StateTransitionError). Checking this inside the transaction closes the race where a
// worker is shut down or reclaimed between the engine's own check and the lease.
std::vector<QueueMessage> SqlFamilyBackend::dequeue(const backend::DequeueParams& p) {
  return exec_.write_grouped("dequeue", [&](Session& s) { return lease_in(s, p); });
}

std::vector<QueueMessage> SqlFamilyBackend::lease_in(Session& s, const backend::DequeueParams& p) {
  const TimePoint new_vt = stored(p.now + p.lease);
  if (require_worker_status(s, p.consumer_worker_id) == WorkerStatus::kStopped) {
    throw StateTransitionError("worker " + std::to_string(p.consumer_worker_id) +
                               " is stopped: a stopped worker cannot lease messages");
  }
  std::int64_t queue_id = 0;
  QueueOptions limits;
  {
    auto q = s.query(kQueueLimits);
    q.bind(p.queue);
    if (!q.step()) require_queue_id(s, p.queue);  // throws QueueNotFoundError
    queue_id = q.int64(0);
    limits.concurrency = q.optional_int64(1);
    limits.worker_concurrency = q.optional_int64(2);
    limits.key_concurrency = q.optional_int64(3);
    if (!q.is_null(4) && !q.is_null(5)) {
      limits.rate_limit = RateLimit{q.int64(4), std::chrono::microseconds(q.int64(5))};
    }
  }
  std::vector<QueueMessage> leased;
  if (p.limit == 0) return leased;
  s.query(kMarkDead).bind(p.now).bind(p.queue).bind(p.max_read_ct).bind(p.limit).execute();

  std::int64_t budget = p.limit;
  if (limits.limited()) {
    backend::HeldLeases held;
    if (limits.concurrency)
      held.queue = count_of(std::move(s.query(kHeldByQueue).bind(queue_id).bind(p.now)));
    if (limits.worker_concurrency) {
      held.worker = count_of(
          std::move(s.query(kHeldByWorker).bind(queue_id).bind(p.now).bind(p.consumer_worker_id)));
    }
    if (limits.rate_limit) {
      const TimePoint window_start = p.now - limits.rate_limit->period;
      s.query(kRateForget).bind(queue_id).bind(window_start - backend::kRateLeaseKeep).execute();
      held.rate_used = count_of(std::move(s.query(kRateUsed).bind(queue_id).bind(window_start)));
    }
    budget = backend::lease_budget(p.limit, limits, held);
  }
  backend::KeyGate keys(limits.key_concurrency, [&](const std::string& key) {
    return count_of(std::move(s.query(kHeldByKey).bind(queue_id).bind(p.now).bind(key)));
  });
  // Streamed without a LIMIT when keys are filtered: the scan goes on past busy keys.
  for (const char* sql : {kCandidatesBefore, kCandidatesPlain, kCandidatesAfter}) {
    if (static_cast<std::int64_t>(leased.size()) >= budget) break;
    const std::int64_t want = budget - static_cast<std::int64_t>(leased.size());
    auto q = s.query(sql);
    q.bind(queue_id).bind(p.now).bind(p.max_read_ct).bind(keys.active() ? -1 : want);
    while (static_cast<std::int64_t>(leased.size()) < budget && q.step()) {
      QueueMessage m = backend::read_message(QueryRow(q));
      if (keys.admit(m.concurrency_key)) leased.push_back(std::move(m));
    }
  }
  for (QueueMessage& m : leased) {
    s.query(kLease).bind(new_vt).bind(p.now).bind(p.consumer_worker_id).bind(m.id).execute();
    if (limits.rate_limit) s.query(kRateRecord).bind(queue_id).bind(p.now).execute();
    m.vt = new_vt;
    m.read_ct += 1;
    m.dequeued_at = stored(p.now);
    m.consumer_worker_id = p.consumer_worker_id;
  }
  return leased;
}

std::optional<QueueMessage> SqlFamilyBackend::get_message(std::int64_t id) {
  return exec_.read("get_message", [&](Session& s) -> std::optional<QueueMessage> {
    auto q = s.query(kMessageById);
    q.bind(id);
    if (!q.step()) return std::nullopt;
    return backend::read_message(QueryRow(q));
  });
}

std::vector<QueueMessage> SqlFamilyBackend::list_messages(std::string_view queue,
                                                          std::uint32_t limit,
                                                          bool include_archived,
                                                          std::optional<std::int64_t> before_id) {
  return exec_.read("list_messages", [&](Session& s) {
    const std::int64_t queue_id = require_queue_id(s, queue);
    std::vector<QueueMessage> out;
    auto q = s.query(kListMessages);
    q.bind(queue_id).bind(include_archived).bind(limit).bind(before_id.value_or(kNoIdBound));
    while (q.step()) out.push_back(backend::read_message(QueryRow(q)));
    return out;
  });
}

std::vector<QueueMessage> SqlFamilyBackend::dead_letters(std::optional<std::string_view> queue,
                                                         TimePoint now, std::int32_t max_read_ct,
                                                         std::optional<std::uint32_t> limit,
                                                         std::optional<std::int64_t> before_id) {
  return exec_.read("dead_letters", [&](Session& s) {
    std::optional<std::int64_t> queue_id;
    if (queue) queue_id = require_queue_id(s, *queue);
    std::vector<QueueMessage> out;
    auto q = s.query(kDeadLetters);
    q.bind(queue_id).bind(now).bind(max_read_ct).bind(before_id.value_or(kNoIdBound));
    // LIMIT -1: no limit.
    if (limit) {
      q.bind(*limit);
    } else {
      q.bind(std::int64_t{-1});
    }
    while (q.step()) out.push_back(backend::read_message(QueryRow(q)));
    return out;
  });
}

bool SqlFamilyBackend::replay_dead_letter(std::int64_t id, TimePoint now,
                                          std::int32_t max_read_ct) {
  return exec_.write("replay_dead_letter", [&](Session& s) {
    return s.query(kReplay).bind(id).bind(now).bind(max_read_ct).execute() > 0;
  });
}

}  // namespace pgqrs::sqlite_family
