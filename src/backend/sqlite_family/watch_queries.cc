#include "backend/sqlite_family/watch_queries.h"

#include <algorithm>
#include <map>

namespace pgqrs::sqlite_family {

// Both read the rowid in order (EXPLAIN QUERY PLAN on both engines). The statement they
// replace, the range joined with pgqrs_queues and grouped by queue, was planned by both as a
// scan of pgqrs_messages_queue_idx (it covers queue_id and the rowid) from end to end; Turso
// also plans "WHERE id > ?1" selecting queue_id that way without the ORDER BY.
const char kLastMessageIdSql[] = "SELECT id FROM pgqrs_messages ORDER BY id DESC LIMIT 1";
const char kMessagesAfterSql[] =
    "SELECT queue_id, id FROM pgqrs_messages WHERE id > ?1 ORDER BY id";

namespace {

constexpr char kQueueName[] = "SELECT queue_name FROM pgqrs_queues WHERE id = ?1";
// One pgqrs_messages_dequeue_idx range per queue.
constexpr char kQueuesMadeVisible[] = R"sql(
SELECT q.queue_name FROM pgqrs_queues q
WHERE EXISTS (SELECT 1 FROM pgqrs_messages m
              WHERE m.queue_id = q.id AND m.archived_at IS NULL AND m.dead_at IS NULL
                AND m.priority = 0 AND m.vt > ?1 AND m.vt <= ?2
                AND m.consumer_worker_id IS NULL))sql";

}  // namespace

std::int64_t last_message_id(Session& s) {
  auto q = s.query(kLastMessageIdSql);
  return q.step() ? q.int64(0) : 0;
}

std::vector<std::pair<std::string, std::int64_t>> queue_activity(Session& s, std::int64_t after,
                                                                 TimePoint since, TimePoint until) {
  std::map<std::int64_t, std::int64_t> last_id_of_queue;
  {
    auto q = s.query(kMessagesAfterSql);
    q.bind(after);
    while (q.step()) {
      auto& last = last_id_of_queue[q.int64(0)];
      last = std::max(last, q.int64(1));
    }
  }
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& [queue_id, last] : last_id_of_queue) {
    auto q = s.query(kQueueName);
    q.bind(queue_id);
    if (q.step()) out.emplace_back(q.text(0), last);  // no row: the queue was just deleted
  }
  auto q = s.query(kQueuesMadeVisible);
  q.bind(since).bind(until);
  while (q.step()) out.emplace_back(q.text(0), 0);
  return out;
}

}  // namespace pgqrs::sqlite_family
