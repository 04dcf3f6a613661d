// PostgresBackend::resume_run_now (contract in backend/capabilities/workflows.h): one
// statement. The run row is locked first (FOR UPDATE), so a worker starting or finishing it
// concurrently is ordered before or after the whole resume; a woken message notifies its
// queue's listeners as a send or a cancel does.
#include "backend/postgres/pg_backend.h"

namespace pgqrs::pg {
namespace {

// $1 run, $2 now, $3 notify channel. Returns (run exists, run was PAUSED).
constexpr char kResumeRunNow[] = R"sql(
WITH r AS (
  SELECT id, message_id FROM {s}.pgqrs_workflow_runs
  WHERE id = $1 AND status = 'PAUSED' FOR UPDATE),
     steps AS (
  UPDATE {s}.pgqrs_workflow_steps SET retry_at = $2, updated_at = $2
  WHERE run_id = (SELECT id FROM r) AND retry_at > $2 AND status = 'PAUSED'
  RETURNING 1),
     wake AS (
  UPDATE {s}.pgqrs_messages SET vt = $2
  WHERE id = (SELECT message_id FROM r) AND coalesce(archived_at, dead_at) IS NULL
    AND vt > $2 AND consumer_worker_id IS NULL
  RETURNING queue_id),
     n AS (SELECT pg_notify($3, q.queue_name) FROM {s}.pgqrs_queues q
           WHERE q.id IN (SELECT queue_id FROM wake))
SELECT EXISTS (SELECT 1 FROM {s}.pgqrs_workflow_runs WHERE id = $1),
       EXISTS (SELECT 1 FROM r), (SELECT count(*) FROM steps), (SELECT count(*) FROM n))sql";

}  // namespace

std::optional<bool> PostgresBackend::resume_run_now(std::int64_t run_id, TimePoint now) {
  return exec_.write("resume_run_now", [&](Session& s) -> std::optional<bool> {
    auto r = s.exec(sql_(kResumeRunNow), Params().int8(run_id).time(now).text(channel_));
    if (!r.boolean(0, 0)) return std::nullopt;
    return r.boolean(0, 1);
  });
}

}  // namespace pgqrs::pg
