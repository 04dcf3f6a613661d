// SqlFamilyBackend: enqueue, dequeue, message reads and dead letters.
#include <string>

#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

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

// Dequeue, step 2: the first ?4 deliverable messages in delivery order, served in that
// order by pgqrs_messages_dequeue_idx ("+read_ct" keeps the planner on it).
constexpr char kCandidates[] = "SELECT " PGQRS_MESSAGE_COLUMNS R"sql(
FROM pgqrs_messages
WHERE queue_id = (SELECT id FROM pgqrs_queues WHERE queue_name = ?1)
  AND archived_at IS NULL AND dead_at IS NULL AND vt <= ?2 AND +read_ct < ?3
ORDER BY vt, id LIMIT ?4)sql";

// Dequeue, step 3, per candidate: take the lease.
constexpr char kLease[] = R"sql(
UPDATE pgqrs_messages
SET vt = ?1, read_ct = read_ct + 1, dequeued_at = ?2, consumer_worker_id = ?3
WHERE id = ?4)sql";

constexpr char kMessageById[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM pgqrs_messages WHERE id = ?1";

constexpr char kListMessages[] = "SELECT " PGQRS_MESSAGE_COLUMNS R"sql(
FROM pgqrs_messages
WHERE queue_id = ?1 AND (?2 OR archived_at IS NULL)
ORDER BY id DESC LIMIT ?3)sql";

// The dead-letter predicate (backend.h): dead_at set, or live, visible and delivered
// max_read_ct times already (it would be marked dead by the next dequeue that reaches it).
#define PGQRS_SQL_IS_DEAD_LETTER \
  "archived_at IS NULL AND (dead_at IS NOT NULL OR (vt <= ?2 AND read_ct >= ?3))"

constexpr char kDeadLetters[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS
    " FROM pgqrs_messages WHERE (?1 IS NULL OR queue_id = ?1) AND " PGQRS_SQL_IS_DEAD_LETTER
    " ORDER BY id";

constexpr char kReplay[] =
    "UPDATE pgqrs_messages SET read_ct = 0, vt = ?2, dead_at = NULL, consumer_worker_id = NULL "
    "WHERE id = ?1 AND " PGQRS_SQL_IS_DEAD_LETTER;

#undef PGQRS_SQL_IS_DEAD_LETTER

}  // namespace

std::vector<std::int64_t> SqlFamilyBackend::enqueue(const backend::EnqueueParams& p) {
  return exec_.write("enqueue", [&](Session& s) {
    const std::int64_t queue_id = require_queue_id(s, p.queue);
    if (p.producer_worker_id) require_worker_status(s, *p.producer_worker_id);
    std::vector<std::int64_t> ids;
    ids.reserve(p.payloads.size());
    for (const std::string& payload : p.payloads) {
      ids.push_back(
          insert_message(s, queue_id, payload, p.visible_at, p.now, p.producer_worker_id, p.trace));
    }
    return ids;
  });
}

// One BEGIN IMMEDIATE transaction: (1) dead-letter up to `limit` exhausted candidates,
// (2) select up to `limit` deliverable candidates in (vt, id) order, (3) lease each of them.
// The result keeps the order of step 2, i.e. delivery order. Selecting before updating is
// safe because the write lock is held from BEGIN: no other connection can change the rows.
//
// The consumer must exist (WorkerNotFoundError) and must not be stopped
// (StateTransitionError). Checking this inside the transaction closes the race where a
// worker is shut down or reclaimed between the engine's own check and the lease.
std::vector<QueueMessage> SqlFamilyBackend::dequeue(const backend::DequeueParams& p) {
  return exec_.write("dequeue", [&](Session& s) { return lease_in(s, p); });
}

std::vector<QueueMessage> SqlFamilyBackend::lease_in(Session& s, const backend::DequeueParams& p) {
  const TimePoint new_vt = stored(p.now + p.lease);
  {
    if (require_worker_status(s, p.consumer_worker_id) == WorkerStatus::kStopped) {
      throw StateTransitionError("worker " + std::to_string(p.consumer_worker_id) +
                                 " is stopped: a stopped worker cannot lease messages");
    }
    std::vector<QueueMessage> leased;
    if (p.limit > 0) {
      s.query(kMarkDead).bind(p.now).bind(p.queue).bind(p.max_read_ct).bind(p.limit).execute();
      auto q = s.query(kCandidates);
      q.bind(p.queue).bind(p.now).bind(p.max_read_ct).bind(p.limit);
      while (q.step()) leased.push_back(backend::read_message(QueryRow(q)));
    }
    if (leased.empty()) {
      require_queue_id(s, p.queue);
      return leased;
    }
    for (QueueMessage& m : leased) {
      s.query(kLease).bind(new_vt).bind(p.now).bind(p.consumer_worker_id).bind(m.id).execute();
      m.vt = new_vt;
      m.read_ct += 1;
      m.dequeued_at = stored(p.now);
      m.consumer_worker_id = p.consumer_worker_id;
    }
    return leased;
  }
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
                                                          bool include_archived) {
  return exec_.read("list_messages", [&](Session& s) {
    const std::int64_t queue_id = require_queue_id(s, queue);
    std::vector<QueueMessage> out;
    auto q = s.query(kListMessages);
    q.bind(queue_id).bind(include_archived).bind(limit);
    while (q.step()) out.push_back(backend::read_message(QueryRow(q)));
    return out;
  });
}

std::vector<QueueMessage> SqlFamilyBackend::dead_letters(std::optional<std::string_view> queue,
                                                         TimePoint now, std::int32_t max_read_ct) {
  return exec_.read("dead_letters", [&](Session& s) {
    std::optional<std::int64_t> queue_id;
    if (queue) queue_id = require_queue_id(s, *queue);
    std::vector<QueueMessage> out;
    auto q = s.query(kDeadLetters);
    q.bind(queue_id).bind(now).bind(max_read_ct);
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
