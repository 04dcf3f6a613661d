// PostgresBackend: owner-only operations on leased messages (archive, remove, set_lease,
// release). Each applies to a message only while `worker` holds a valid lease on it:
// consumer_worker_id = worker, vt > now, not archived, not dead. A batch is one statement
// over id = ANY($1) and reports one flag per input id, in input order (a repeated id
// applies once, at its first position).
#include <unordered_set>

#include "backend/postgres/archived_counts_sql.h"
#include "backend/postgres/pg_backend.h"

namespace pgqrs::pg {
namespace {

// Parameters common to every statement below: $1 = ids, $2 = worker, $3 = now.
// Written so that the primary key is the only index that can serve them, whatever the
// table's statistics say. Generic plans are made once per connection, often while the
// statistics of a young table are wrong (e.g. "no message has a consumer"), and the
// planner then happily walks a whole index it believes empty: with the plain forms a plan
// read every row of pgqrs_messages_consumer_idx on each call (measured: 4 ms at 10,000
// rows, growing). So "live" is "coalesce(archived_at, dead_at) IS NULL" (does not prove
// the partial indexes' predicates) and the owner test is "coalesce(consumer_worker_id, 0)
// = $2" (not strict, so it does not prove consumer_worker_id IS NOT NULL either).
#define PGQRS_PG_HELD_BY_WORKER                                                   \
  " WHERE id = ANY($1) AND coalesce(consumer_worker_id, 0) = $2 AND vt > $3 AND " \
  "coalesce(archived_at, dead_at) IS NULL"

// Counts what it archived into pgqrs_archived_counts (archived_counts_sql.h) in the same
// statement: one upsert per queue, on the worker's stripe.
constexpr char kArchive[] =
    "WITH a AS (UPDATE {s}.pgqrs_messages SET archived_at = $3" PGQRS_PG_HELD_BY_WORKER
    " RETURNING id, queue_id), " PGQRS_PG_COUNT_ARCHIVED("a", "$2") " SELECT id FROM a";

constexpr char kRemove[] = "DELETE FROM {s}.pgqrs_messages" PGQRS_PG_HELD_BY_WORKER " RETURNING id";

constexpr char kSetLease[] =
    "UPDATE {s}.pgqrs_messages SET vt = $4" PGQRS_PG_HELD_BY_WORKER " RETURNING id";

// $4 = visible_at, $5 = max_read_ct, $6 = channel, $7 = notify (visible now). A message
// already delivered max_read_ct times is dead-lettered instead of coming back.
constexpr char kRelease[] = R"sql(
WITH r AS (
  UPDATE {s}.pgqrs_messages
  SET vt = $4, consumer_worker_id = NULL,
      dead_at = CASE WHEN read_ct >= $5 THEN $3 ELSE NULL END)sql" PGQRS_PG_HELD_BY_WORKER R"sql(
  RETURNING id, queue_id, dead_at),
     n AS (SELECT pg_notify($6, q.queue_name) FROM {s}.pgqrs_queues q
           WHERE $7 AND q.id IN (SELECT queue_id FROM r WHERE dead_at IS NULL))
SELECT id, (SELECT count(*) FROM n) FROM r)sql";

// Gives back a delivery that did not fail (a paused workflow run, or one waiting for a step
// retry): $4 = visible_at, $5 = channel, $6 = notify (visible now). The delivery is not
// counted (read_ct - 1, never below 0), so a run that sleeps many times never dead-letters.
constexpr char kDefer[] = R"sql(
WITH d AS (
  UPDATE {s}.pgqrs_messages
  SET vt = $4, consumer_worker_id = NULL, read_ct = greatest(read_ct - 1, 0))sql" PGQRS_PG_HELD_BY_WORKER
                          R"sql(
  RETURNING id, queue_id),
     n AS (SELECT pg_notify($5, q.queue_name) FROM {s}.pgqrs_queues q
           WHERE $6 AND q.id IN (SELECT queue_id FROM d))
SELECT id, (SELECT count(*) FROM n) FROM d)sql";

#undef PGQRS_PG_HELD_BY_WORKER

// One flag per input id: true at the first position of each id the statement returned.
std::vector<bool> flags(const std::vector<std::int64_t>& ids, const Result& r) {
  std::unordered_set<std::int64_t> applied;
  for (int i = 0; i < r.rows(); ++i) applied.insert(r.int8(i, 0));
  std::vector<bool> out;
  out.reserve(ids.size());
  for (const std::int64_t id : ids) out.push_back(applied.erase(id) > 0);
  return out;
}

}  // namespace

std::vector<bool> PostgresBackend::archive(const std::vector<std::int64_t>& ids,
                                           std::int64_t worker, TimePoint now) {
  if (ids.empty()) return {};
  return exec_.write("archive", [&](Session& s) {
    return flags(ids, s.exec(sql_(kArchive), Params().int8_array(ids).int8(worker).time(now)));
  });
}

std::vector<bool> PostgresBackend::remove(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                          TimePoint now) {
  if (ids.empty()) return {};
  return exec_.write("remove", [&](Session& s) {
    return flags(ids, s.exec(sql_(kRemove), Params().int8_array(ids).int8(worker).time(now)));
  });
}

std::vector<bool> PostgresBackend::set_lease(const std::vector<std::int64_t>& ids,
                                             std::int64_t worker, TimePoint new_vt, TimePoint now) {
  if (ids.empty()) return {};
  return exec_.write("set_lease", [&](Session& s) {
    return flags(
        ids, s.exec(sql_(kSetLease), Params().int8_array(ids).int8(worker).time(now).time(new_vt)));
  });
}

std::vector<bool> PostgresBackend::release(const std::vector<std::int64_t>& ids,
                                           std::int64_t worker, TimePoint visible_at, TimePoint now,
                                           std::int32_t max_read_ct) {
  if (ids.empty()) return {};
  return exec_.write("release", [&](Session& s) {
    return flags(ids, s.exec(sql_(kRelease), Params()
                                                 .int8_array(ids)
                                                 .int8(worker)
                                                 .time(now)
                                                 .time(visible_at)
                                                 .int4(max_read_ct)
                                                 .text(channel_)
                                                 .boolean(visible_at <= now)));
  });
}

std::vector<bool> PostgresBackend::defer(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                         TimePoint visible_at, TimePoint now) {
  if (ids.empty()) return {};
  return exec_.write("defer", [&](Session& s) {
    return flags(ids, s.exec(sql_(kDefer), Params()
                                               .int8_array(ids)
                                               .int8(worker)
                                               .time(now)
                                               .time(visible_at)
                                               .text(channel_)
                                               .boolean(visible_at <= now)));
  });
}

}  // namespace pgqrs::pg
