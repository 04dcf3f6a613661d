#include "backend/postgres/message_sql.h"

#include <algorithm>

#include "pgqrs/error.h"

namespace pgqrs::pg {

// $1 queue name, $2 payloads jsonb[], $3 vt, $4 enqueued_at, $5 producer (NULL = none),
// $6 notify channel, $7 notify in the statement (visible now, NotifyIn::kStatement), $8
// traceparent, $9 tracestate (NULL = none). The queue and producer rows are KEY SHARE-locked (in
// place of foreign keys, see migrations.cc): a concurrent delete_queue / delete_worker waits for
// this insert and then sees its rows. Returns one row: queue id (NULL = no such queue), producer
// ok, the new ids (ascending = input order, as identity values are drawn in the order rows are
// inserted).
const char kEnqueue[] = R"sql(
WITH q AS (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1 FOR KEY SHARE),
     pw AS (SELECT id FROM {s}.pgqrs_workers WHERE id = $5 FOR KEY SHARE),
     w AS (SELECT $5::int8 IS NULL OR EXISTS (SELECT 1 FROM pw) AS ok),
     ins AS (
       INSERT INTO {s}.pgqrs_messages
         (queue_id, payload, vt, enqueued_at, read_ct, producer_worker_id, traceparent,
          tracestate)
       SELECT q.id, p.payload, $3, $4, 0, $5, $8, $9
       FROM q, w, unnest($2::jsonb[]) WITH ORDINALITY AS p(payload, ord)
       WHERE w.ok
       ORDER BY p.ord
       RETURNING id),
     n AS (SELECT pg_notify($6, $1) FROM (SELECT 1 FROM ins LIMIT 1) AS any_row WHERE $7)
SELECT (SELECT id FROM q), (SELECT ok FROM w), ARRAY(SELECT id FROM ins ORDER BY id),
       (SELECT count(*) FROM n))sql";

Params enqueue_params(const backend::EnqueueParams& p, const std::string& channel,
                      NotifyIn notify) {
  Params params;
  params.text(p.queue)
      .jsonb_array(p.payloads)
      .time(p.visible_at)
      .time(p.now)
      .optional_int8(p.producer_worker_id)
      .text(channel)
      .boolean(notify == NotifyIn::kStatement && p.visible_at <= p.now)
      .optional_text(p.trace.traceparent)
      .optional_text(p.trace.tracestate);
  return params;
}

Params dequeue_params(const backend::DequeueParams& p) {
  Params params;
  params.text(p.queue)
      .time(p.now)
      .time(p.now + p.lease)
      .int8(p.consumer_worker_id)
      .int4(p.max_read_ct)
      .int8(p.limit);
  return params;
}

std::vector<std::int64_t> enqueue_result(const Result& r, const backend::EnqueueParams& p) {
  if (r.is_null(0, 0)) {
    throw QueueNotFoundError("queue '" + p.queue + "' does not exist");
  }
  if (!r.boolean(0, 1)) {
    throw WorkerNotFoundError("worker " + std::to_string(p.producer_worker_id.value_or(0)) +
                              " does not exist");
  }
  std::vector<std::int64_t> ids = r.int8_array(0, 2);
  if (ids.size() != p.payloads.size()) {
    throw InternalError("postgres: enqueue inserted " + std::to_string(ids.size()) + " rows for " +
                        std::to_string(p.payloads.size()) + " payloads");
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace pgqrs::pg
