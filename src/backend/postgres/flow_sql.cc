#include "backend/postgres/flow_sql.h"

#include <algorithm>
#include <map>
#include <set>

#include "backend/postgres/message_sql.h"
#include "backend/record_rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {

void add_option_params(Params& params, const QueueOptions& options) {
  const backend::StoredQueueOptions o = backend::stored_options(options);
  params.optional_int8(o.concurrency)
      .optional_int8(o.worker_concurrency)
      .optional_int8(o.key_concurrency)
      .optional_int8(o.rate_limit)
      .optional_int8(o.rate_period_us)
      .optional_int8(o.retain_archived_us)
      .optional_int8(o.retain_dead_us);
}

namespace {

// $1 queue, $2 now, $3 keys text[], $4 max_read_ct: live messages holding one of the keys
// that are dead letters by definition (backend.h) are marked dead, freeing their keys.
constexpr char kFreeDeadKeys[] = R"sql(
UPDATE {s}.pgqrs_messages SET dead_at = $2, consumer_worker_id = NULL
WHERE queue_id = (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1)
  AND dedup_key = ANY ($3::text[]) AND archived_at IS NULL AND dead_at IS NULL
  AND vt <= $2 AND read_ct >= $4)sql";

// kEnqueue (message_sql.cc, $1-$9) with the flow columns: $10 priorities int8[], $11 dedup
// keys text[], $12 concurrency keys text[] ('' = none: keys are never empty). A row whose dedup
// key is held by a live message is skipped (ON CONFLICT on pgqrs_messages_dedup_idx). Column
// 5: the input ordinals (1-based) of the inserted rows that have a key, in id order.
constexpr char kEnqueueFlow[] = R"sql(
WITH q AS (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1 FOR KEY SHARE),
     pw AS (SELECT id FROM {s}.pgqrs_workers WHERE id = $5 FOR KEY SHARE),
     w AS (SELECT $5::int8 IS NULL OR EXISTS (SELECT 1 FROM pw) AS ok),
     ins AS (
       INSERT INTO {s}.pgqrs_messages
         (queue_id, payload, vt, enqueued_at, read_ct, producer_worker_id, priority, dedup_key,
          concurrency_key, traceparent, tracestate)
       SELECT q.id, p.payload, $3, $4, 0, $5, p.priority::int4, nullif(p.dkey, ''),
              nullif(p.ckey, ''), $8, $9
       FROM q, w, unnest($2::jsonb[], $10::int8[], $11::text[], $12::text[])
                  WITH ORDINALITY AS p(payload, priority, dkey, ckey, ord)
       WHERE w.ok
       ORDER BY p.ord
       ON CONFLICT (queue_id, dedup_key)
         WHERE dedup_key IS NOT NULL AND archived_at IS NULL AND dead_at IS NULL DO NOTHING
       RETURNING id, dedup_key),
     n AS (SELECT pg_notify($6, $1) FROM (SELECT 1 FROM ins LIMIT 1) AS any_row WHERE $7)
SELECT (SELECT id FROM q), (SELECT ok FROM w), ARRAY(SELECT id FROM ins ORDER BY id),
       (SELECT count(*) FROM n),
       ARRAY(SELECT k.ord FROM ins JOIN unnest($11::text[]) WITH ORDINALITY AS k(key, ord)
             ON k.key = ins.dedup_key ORDER BY ins.id))sql";

// The live messages holding keys $2 (text[]) in queue $1: input ordinals and ids.
constexpr char kLiveByKeys[] = R"sql(
WITH h AS (
  SELECT k.ord, m.id FROM unnest($2::text[]) WITH ORDINALITY AS k(key, ord)
  JOIN {s}.pgqrs_messages m
    ON m.queue_id = (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1)
   AND m.dedup_key = k.key AND m.archived_at IS NULL AND m.dead_at IS NULL)
SELECT ARRAY(SELECT ord FROM h ORDER BY ord), ARRAY(SELECT id FROM h ORDER BY ord))sql";

constexpr int kMaxDedupRounds = 5;

}  // namespace

std::vector<std::int64_t> enqueue_flow(Session& s, StatementCache& sql,
                                       const backend::EnqueueParams& p,
                                       const std::string& channel) {
  const std::size_t n = p.payloads.size();
  std::vector<std::optional<std::int64_t>> ids(n);
  std::vector<std::size_t> todo(n);  // input indexes still to store or resolve
  for (std::size_t i = 0; i < n; ++i) todo[i] = i;
  for (int round = 0; !todo.empty(); ++round) {
    if (round == kMaxDedupRounds) {
      throw ConflictError("enqueue: the live messages holding the dedup keys kept changing");
    }
    backend::EnqueueParams part = p;
    part.payloads.clear();
    part.flow.clear();
    std::vector<std::string> keys;
    std::vector<std::string> ckeys;
    std::vector<std::int64_t> priorities;
    std::vector<std::string> present_keys;
    for (const std::size_t i : todo) {
      part.payloads.push_back(p.payloads[i]);
      part.flow.push_back(p.flow[i]);
      priorities.push_back(p.flow[i].priority);
      keys.push_back(p.flow[i].dedup_key.value_or(""));
      ckeys.push_back(p.flow[i].concurrency_key.value_or(""));
      if (p.flow[i].dedup_key) present_keys.push_back(*p.flow[i].dedup_key);
    }
    if (!present_keys.empty()) {
      s.exec(sql(kFreeDeadKeys),
             Params().text(p.queue).time(p.now).text_array(present_keys).int4(p.max_read_ct));
    }
    Params params = enqueue_params(part, channel, NotifyIn::kCaller);
    params.int8_array(priorities).text_array(keys).text_array(ckeys);
    const Result r = s.exec(sql(kEnqueueFlow), params);
    if (r.is_null(0, 0)) throw QueueNotFoundError("queue '" + p.queue + "' does not exist");
    if (!r.boolean(0, 1)) {
      throw WorkerNotFoundError("worker " + std::to_string(p.producer_worker_id.value_or(0)) +
                                " does not exist");
    }
    std::vector<std::int64_t> inserted = r.int8_array(0, 2);
    std::sort(inserted.begin(), inserted.end());
    const std::vector<std::int64_t> keyed = r.int8_array(0, 4);
    const std::set<std::int64_t> keyed_inserted(keyed.begin(), keyed.end());
    std::size_t next = 0;
    std::vector<std::size_t> conflicted;  // positions in todo
    for (std::size_t j = 0; j < todo.size(); ++j) {
      const bool has_key = !keys[j].empty();
      if (has_key && !keyed_inserted.count(static_cast<std::int64_t>(j + 1))) {
        conflicted.push_back(j);
        continue;
      }
      if (next >= inserted.size()) throw InternalError("postgres: enqueue lost a row");
      ids[todo[j]] = inserted[next++];
    }
    if (conflicted.empty()) break;
    std::vector<std::string> held_keys;
    for (const std::size_t j : conflicted) held_keys.push_back(keys[j]);
    const Result h = s.exec(sql(kLiveByKeys), Params().text(p.queue).text_array(held_keys));
    const std::vector<std::int64_t> ords = h.int8_array(0, 0);
    const std::vector<std::int64_t> live = h.int8_array(0, 1);
    std::map<std::int64_t, std::int64_t> by_ord;
    for (std::size_t k = 0; k < ords.size(); ++k) by_ord[ords[k]] = live[k];
    std::vector<std::size_t> again;
    for (std::size_t c = 0; c < conflicted.size(); ++c) {
      auto it = by_ord.find(static_cast<std::int64_t>(c + 1));
      if (it != by_ord.end()) {
        ids[todo[conflicted[c]]] = it->second;
      } else {
        again.push_back(todo[conflicted[c]]);  // freed meanwhile: store it after all
      }
    }
    todo = std::move(again);
  }
  std::vector<std::int64_t> out;
  out.reserve(n);
  for (const auto& id : ids) out.push_back(id.value_or(0));
  return out;
}

}  // namespace pgqrs::pg
