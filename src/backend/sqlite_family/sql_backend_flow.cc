// SqlFamilyBackend: queue options (flow control, issue 14). Limits are applied by dequeue
// (flow_lease.cc); this file stores and updates the options.
#include "backend/record_rows.h"
#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kWriteOptions[] = R"sql(
UPDATE pgqrs_queues SET concurrency = ?2, worker_concurrency = ?3, key_concurrency = ?4,
  rate_limit = ?5, rate_period_us = ?6, retain_archived_us = ?7, retain_dead_us = ?8
WHERE id = ?1)sql";

// The live message holding dedup key ?2 in queue ?1 (at most one: pgqrs_messages_dedup_idx),
// and whether it is a dead letter by definition (visible at ?3, delivered ?4 times).
constexpr char kLiveDedup[] = R"sql(
SELECT id, (vt <= ?3 AND read_ct >= ?4) FROM pgqrs_messages
WHERE queue_id = ?1 AND dedup_key = ?2 AND archived_at IS NULL AND dead_at IS NULL)sql";
constexpr char kMarkDead[] =
    "UPDATE pgqrs_messages SET dead_at = ?2, consumer_worker_id = NULL WHERE id = ?1";

constexpr char kInsertFlowMessage[] = R"sql(
INSERT INTO pgqrs_messages (queue_id, payload, vt, enqueued_at, read_ct, producer_worker_id,
                            priority, dedup_key, concurrency_key, traceparent, tracestate)
VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id)sql";

constexpr char kQueueByName[] =
    "SELECT " PGQRS_QUEUE_COLUMNS " FROM pgqrs_queues WHERE queue_name = ?1";

}  // namespace

void write_queue_options(Session& s, std::int64_t queue_id, const QueueOptions& options) {
  const backend::StoredQueueOptions o = backend::stored_options(options);
  s.query(kWriteOptions)
      .bind(queue_id)
      .bind(o.concurrency)
      .bind(o.worker_concurrency)
      .bind(o.key_concurrency)
      .bind(o.rate_limit)
      .bind(o.rate_period_us)
      .bind(o.retain_archived_us)
      .bind(o.retain_dead_us)
      .execute();
}

// The write lock is held from BEGIN IMMEDIATE, so the lookup and the insert of a dedup key
// cannot race with another process's.
std::vector<std::int64_t> SqlFamilyBackend::enqueue_flow(Session& s, std::int64_t queue_id,
                                                         const backend::EnqueueParams& p) {
  std::vector<std::int64_t> ids;
  ids.reserve(p.payloads.size());
  for (std::size_t i = 0; i < p.payloads.size(); ++i) {
    const MessageOptions& f = p.flow[i];
    if (f.dedup_key) {
      std::optional<std::int64_t> live;
      bool is_dead_letter = false;
      {
        auto q = s.query(kLiveDedup);
        q.bind(queue_id).bind(*f.dedup_key).bind(p.now).bind(p.max_read_ct);
        if (q.step()) {
          live = q.int64(0);
          is_dead_letter = q.int64(1) != 0;
        }
      }
      if (live && is_dead_letter) {
        s.query(kMarkDead).bind(*live).bind(p.now).execute();
      } else if (live) {
        ids.push_back(*live);
        continue;
      }
    }
    ids.push_back(s.query(kInsertFlowMessage)
                      .bind(queue_id)
                      .bind(std::string_view(p.payloads[i]))
                      .bind(p.visible_at)
                      .bind(p.now)
                      .bind(p.producer_worker_id)
                      .bind(f.priority)
                      .bind(f.dedup_key)
                      .bind(f.concurrency_key)
                      .bind(p.trace.traceparent)
                      .bind(p.trace.tracestate)
                      .insert_returning_id());
  }
  return ids;
}

// One write transaction: the write lock is held from BEGIN IMMEDIATE, so no other writer
// changes the row between the read and the update.
QueueInfo SqlFamilyBackend::update_queue_options(std::string_view name, const EditOptions& edit) {
  return exec_.write("update_queue_options", [&](Session& s) {
    QueueInfo info;
    {
      auto q = s.query(kQueueByName);
      q.bind(name);
      if (!q.step()) throw QueueNotFoundError("queue '" + std::string(name) + "' does not exist");
      info = backend::read_queue(QueryRow(q));
    }
    info.options = edit(info.options);
    write_queue_options(s, info.id, info.options);
    return info;
  });
}

}  // namespace pgqrs::sqlite_family
