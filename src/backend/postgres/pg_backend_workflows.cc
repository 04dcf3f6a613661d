// PostgresBackend: durable workflows (SPEC §5) — workflow definitions, runs and steps.
//
// The engine owns the run state machine and the step protocol; this file stores them. Every
// state change is ONE statement (CTEs where it has several parts) whose WHERE clause is the
// compare-and-set: under READ COMMITTED an UPDATE re-checks its condition on the newest row
// version after waiting for a concurrent writer, so two workers can never both apply the
// same transition. Statuses are stored as their to_string() text ("QUEUED", "RUNNING", ...),
// which the CHECK constraints of migration 1 pin; the literals below are those names.
// Only create_workflow needs several statements (a transaction under an advisory lock).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// ---- workflows ----

constexpr char kLockWorkflowName[] = "SELECT pg_advisory_xact_lock(hashtext($1))";
constexpr char kWorkflowByName[] =
    "SELECT " PGQRS_WORKFLOW_COLUMNS " FROM {s}.pgqrs_workflows WHERE name = $1";
constexpr char kAllWorkflows[] =
    "SELECT " PGQRS_WORKFLOW_COLUMNS " FROM {s}.pgqrs_workflows ORDER BY name";
// An existing queue of the same name is adopted; only a missing one is created.
constexpr char kQueueIdForWorkflow[] = R"sql(
WITH ins AS (
  INSERT INTO {s}.pgqrs_queues (queue_name, created_at) VALUES ($1, $2)
  ON CONFLICT (queue_name) DO NOTHING
  RETURNING id)
SELECT id FROM ins
UNION ALL
SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1 AND NOT EXISTS (SELECT 1 FROM ins))sql";
constexpr char kInsertWorkflow[] =
    "INSERT INTO {s}.pgqrs_workflows (name, queue_id, created_at) VALUES ($1, $2, $3) "
    "RETURNING " PGQRS_WORKFLOW_COLUMNS;

// ---- runs ----

// $1 workflow name, $2 input (jsonb), $3 now, $4 the messages table's qualified name (for
// its identity sequence), $5 notify channel, $6-$8 priority, dedup key and concurrency key
// ('' = none), $9-$10 traceparent and tracestate (NULL = none), $11 notify in the statement
// (NotifyIn::kStatement). One statement: the message id is
// drawn first so that the run row (QUEUED) and its message (payload: the input, as in the original
// pgqrs) are inserted together; the run names its message (run.message_id). The workflow's queue
// row is KEY SHARE-locked like an enqueue's (migrations.cc). No row when the workflow is not
// registered.
constexpr char kTriggerRun[] = R"sql(
WITH wf AS (
  SELECT w.id, w.queue_id
  FROM {s}.pgqrs_workflows w JOIN {s}.pgqrs_queues q ON q.id = w.queue_id
  WHERE w.name = $1
  FOR KEY SHARE OF q),
     mid AS (SELECT nextval(pg_get_serial_sequence($4, 'id')) AS id FROM wf),
     r AS (
       INSERT INTO {s}.pgqrs_workflow_runs
         (workflow_id, message_id, status, input, created_at, updated_at)
       SELECT wf.id, mid.id, 'QUEUED', $2, $3, $3 FROM wf, mid
       RETURNING id, workflow_id, message_id, status, input, output, error, created_at,
                 updated_at),
     m AS (
       INSERT INTO {s}.pgqrs_messages (id, queue_id, payload, vt, enqueued_at, read_ct,
                                       priority, dedup_key, concurrency_key, traceparent,
                                       tracestate)
       OVERRIDING SYSTEM VALUE
       SELECT mid.id, wf.queue_id, $2::jsonb,
              $3, $3, 0, $6, nullif($7, ''), nullif($8, ''), $9, $10
       FROM wf, mid, r
       RETURNING )sql" PGQRS_MESSAGE_COLUMNS R"sql(),
     n AS (SELECT pg_notify($5, $1) FROM m WHERE $11)
SELECT r.id, r.workflow_id, $1::text, r.message_id, r.status, r.input, r.output, r.error,
       r.created_at, r.updated_at, m.*, (SELECT count(*) FROM n)
FROM r, m)sql";
constexpr int kTriggerMessageColumn = 10;
// A versioned store's runs record its version, in the trigger's transaction (only then: an
// unversioned store writes no column of schema step 7 here).
constexpr char kSetRunVersion[] =
    "UPDATE {s}.pgqrs_workflow_runs SET app_version = $2 WHERE id = $1";

// An idempotent trigger (a dedup key, issue 14): the workflow row is locked FOR NO KEY UPDATE
// (so dedup triggers of one workflow take turns; plain triggers, which only KEY SHARE-lock
// through their foreign key, are not held up), then the live message holding key $2 on its
// queue is looked for. No row: no such workflow.
constexpr char kTriggerDedupLookup[] = R"sql(
WITH wf AS (SELECT id, queue_id FROM {s}.pgqrs_workflows WHERE name = $1 FOR NO KEY UPDATE)
SELECT wf.id, m.id FROM wf LEFT JOIN {s}.pgqrs_messages m
  ON m.queue_id = wf.queue_id AND m.dedup_key = $2 AND m.archived_at IS NULL
 AND m.dead_at IS NULL)sql";
constexpr char kTriggerMessageById[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM {s}.pgqrs_messages WHERE id = $1";

constexpr char kRunById[] = PGQRS_PG_SELECT_RUNS " WHERE r.id = $1";
constexpr char kRunByMessage[] = PGQRS_PG_SELECT_RUNS " WHERE r.message_id = $1";
// Newest first. $1 status or NULL, $2 since or NULL, $3 limit, $4 workflow name or NULL,
// $5 before_id or NULL. Paging is keyset on the list order (created_at, id): the cursor c is
// run $5 (or, if it is gone, the newest run before it, itself included), and a page is the
// runs after c, read as one range scan of pgqrs_workflow_runs_created_idx (created_at, id).
constexpr char kListRuns[] = R"sql(
WITH c AS (
  SELECT r0.created_at, CASE WHEN r0.id = $5 THEN r0.id ELSE r0.id + 1 END AS bound_id
  FROM {s}.pgqrs_workflow_runs r0 WHERE r0.id <= $5::int8 ORDER BY r0.id DESC LIMIT 1)
)sql" PGQRS_PG_SELECT_RUNS R"sql(
WHERE ($1::text IS NULL OR r.status = $1) AND ($2::timestamptz IS NULL OR r.created_at >= $2)
  AND ($4::text IS NULL OR w.name = $4)
  AND ($5::int8 IS NULL
       OR (r.created_at, r.id) < ((SELECT created_at FROM c), (SELECT bound_id FROM c)))
ORDER BY r.created_at DESC, r.id DESC
LIMIT $3)sql";

// The parent side of a run's end (capabilities/coordination.h, WAKE-UPS), as CTEs after one
// named `ended` that returns the ended run's parent_run_id and final status: a parent waiting
// for children is counted down and, at 0 or when the child failed, its message woken (the
// wake UPDATE matches the row whatever its state, so it always takes the row lock). $N_NOW
// and $N_CHANNEL are spliced per statement.
// The parent's row is matched by id alone, never by its waiting_children: this statement's
// snapshot may predate the parent's wait (it waited for the child's row lock, which the
// parent's defer_waiting_run held FOR SHARE), and an UPDATE re-reads the newest version of a
// row only if the row matched in the snapshot. NULL - 1 stays NULL (not waiting).
#define PGQRS_PG_WAKE_PARENT(NOW, CHANNEL)                                                    \
  ", p AS (UPDATE {s}.pgqrs_workflow_runs pr SET waiting_children = pr.waiting_children - 1 " \
  "FROM ended WHERE pr.id = ended.parent_run_id "                                             \
  "RETURNING pr.message_id, pr.waiting_children, ended.status AS child_status), "             \
  "w AS (UPDATE {s}.pgqrs_messages m SET vt = CASE WHEN m.consumer_worker_id IS NULL AND "    \
  "m.vt > " NOW " THEN " NOW                                                                  \
  " ELSE m.vt END FROM p WHERE m.id = p.message_id AND "                                      \
  "(p.waiting_children <= 0 OR p.child_status IN ('ERROR', 'CANCELLED')) AND "                \
  "m.archived_at IS NULL AND m.dead_at IS NULL RETURNING m.queue_id, m.vt <= " NOW            \
  " AS due), "                                                                                \
  "wn AS (SELECT pg_notify(" CHANNEL                                                          \
  ", q.queue_name) FROM {s}.pgqrs_queues q "                                                  \
  "WHERE q.id IN (SELECT queue_id FROM w WHERE due)) "

// QUEUED|PAUSED|RUNNING -> RUNNING, CANCELLING -> CANCELLED; finished runs are left alone.
// Returns the run after the call (the updated row, or the unchanged one).
// CANCELLING -> CANCELLED ends the run: its parent is told as finish_run does ($3 channel).
// $4: the store's app version (NULL: any); a run of another version is returned unchanged.
// The last column says whether the update applied.
constexpr char kStartRun[] = R"sql(
WITH u AS (
  UPDATE {s}.pgqrs_workflow_runs
  SET status = CASE WHEN status = 'CANCELLING' THEN 'CANCELLED' ELSE 'RUNNING' END,
      updated_at = $2
  WHERE id = $1 AND (status = 'CANCELLING' OR (status IN ('QUEUED', 'PAUSED', 'RUNNING') AND
        ($4::text IS NULL OR app_version IS NULL OR app_version = $4)))
  RETURNING id, workflow_id, message_id, status, input, output, error, created_at, updated_at,
            parent_run_id),
     ended AS (SELECT parent_run_id, status FROM u WHERE status = 'CANCELLED'
                                                     AND parent_run_id IS NOT NULL))sql" PGQRS_PG_WAKE_PARENT(
    "$2", "$3") R"sql(
SELECT r.id, r.workflow_id, w.name, r.message_id, r.status, r.input, r.output, r.error,
       r.created_at, r.updated_at, true
FROM u AS r JOIN {s}.pgqrs_workflows w ON w.id = r.workflow_id
WHERE (SELECT count(*) FROM wn) >= 0
UNION ALL
SELECT )sql" PGQRS_RUN_COLUMNS R"sql(, false
FROM {s}.pgqrs_workflow_runs r JOIN {s}.pgqrs_workflows w ON w.id = r.workflow_id
WHERE r.id = $1 AND NOT EXISTS (SELECT 1 FROM u))sql";

// $1 run, $2 message, $3 worker, $4 now: (run status or NULL, lease held). The lease test is
// the owner-only operations' (pg_backend_leases.cc), written the same plan-stable way.
constexpr char kRunBoundary[] = R"sql(
SELECT (SELECT status FROM {s}.pgqrs_workflow_runs WHERE id = $1),
       EXISTS (SELECT 1 FROM {s}.pgqrs_messages
               WHERE id = $2 AND coalesce(consumer_worker_id, 0) = $3 AND vt > $4
                 AND coalesce(archived_at, dead_at) IS NULL))sql";

// $1 run, $2 status, $3 output, $4 error, $5 now, $6 channel. Returns (finished, notified).
constexpr char kFinishRun[] = R"sql(
WITH ended AS (
  UPDATE {s}.pgqrs_workflow_runs SET status = $2, output = $3, error = $4, updated_at = $5
  WHERE id = $1 AND status IN ('RUNNING', 'CANCELLING')
  RETURNING parent_run_id, status))sql" PGQRS_PG_WAKE_PARENT("$5", "$6") R"sql(
SELECT (SELECT count(*) FROM ended), (SELECT count(*) FROM wn))sql";

// $1 run, $2 now, $3 error (NULL = keep).
constexpr char kPauseRun[] =
    "UPDATE {s}.pgqrs_workflow_runs SET status = 'PAUSED', error = coalesce($3, error), "
    "updated_at = $2 WHERE id = $1 AND status IN ('QUEUED', 'RUNNING', 'PAUSED')";

// The wake of a run whose row the CTE `ROWS` returns (with its message_id), $2 now, $3 notify
// channel: its message, if invisible and not leased, becomes visible now and its queue's
// listeners are told. Shared by cancel_run and resume_run_now.
#define PGQRS_PG_WAKE_RUN_OF(ROWS)                                          \
  "     wake AS (\n"                                                        \
  "  UPDATE {s}.pgqrs_messages SET vt = $2\n"                               \
  "  WHERE id = (SELECT message_id FROM " ROWS                              \
  ") AND coalesce(archived_at, dead_at) IS NULL\n"                          \
  "    AND vt > $2 AND consumer_worker_id IS NULL\n"                        \
  "  RETURNING queue_id),\n"                                                \
  "     n AS (SELECT pg_notify($3, q.queue_name) FROM {s}.pgqrs_queues q\n" \
  "           WHERE q.id IN (SELECT queue_id FROM wake))"

// $1 run, $2 now, $3 channel. QUEUED|RUNNING|PAUSED -> CANCELLING, and the run's message is
// made visible now if it is invisible and not leased (vt > now and no consumer), so a
// worker observes the cancellation promptly; a message that is already visible keeps its
// place in line, a leased one is left to its holder (it sees CANCELLING at its next step
// boundary). Returns (run exists, cancelled, notified).
constexpr char kCancelRun[] = R"sql(
WITH c AS (
  UPDATE {s}.pgqrs_workflow_runs SET status = 'CANCELLING', updated_at = $2
  WHERE id = $1 AND status IN ('QUEUED', 'RUNNING', 'PAUSED')
  RETURNING message_id),
)sql" PGQRS_PG_WAKE_RUN_OF("c") R"sql(
SELECT EXISTS (SELECT 1 FROM {s}.pgqrs_workflow_runs WHERE id = $1),
       EXISTS (SELECT 1 FROM c), (SELECT count(*) FROM n))sql";

// $1 run, $2 now, $3 channel. A PAUSED run (locked, so a worker starting or finishing it is
// ordered before or after the whole resume): its PAUSED steps waiting until later become
// due now and it is woken. Returns (run exists, run was PAUSED).
constexpr char kResumeRunNow[] = R"sql(
WITH c AS (
  SELECT id, message_id FROM {s}.pgqrs_workflow_runs
  WHERE id = $1 AND status = 'PAUSED' FOR UPDATE),
     steps AS (
  UPDATE {s}.pgqrs_workflow_steps SET retry_at = $2, updated_at = $2
  WHERE run_id = (SELECT id FROM c) AND retry_at > $2 AND status = 'PAUSED'
  RETURNING 1),
)sql" PGQRS_PG_WAKE_RUN_OF("c") R"sql(
SELECT EXISTS (SELECT 1 FROM {s}.pgqrs_workflow_runs WHERE id = $1),
       EXISTS (SELECT 1 FROM c), (SELECT count(*) FROM steps), (SELECT count(*) FROM n))sql";
#undef PGQRS_PG_WAKE_RUN_OF

// ---- steps ----

constexpr char kStep[] = "SELECT " PGQRS_STEP_COLUMNS
                         " FROM {s}.pgqrs_workflow_steps WHERE run_id = $1 AND step_name = $2";
// Inserts the step as RUNNING unless it exists; returns the row either way (the new one, or
// the existing one as of the statement's start). No row when the run does not exist or a
// concurrent insert of the same step won (the caller reads again).
constexpr char kBeginStep[] = R"sql(
WITH ins AS (
  INSERT INTO {s}.pgqrs_workflow_steps
    (run_id, step_name, status, retry_count, created_at, updated_at)
  SELECT $1, $2, 'RUNNING', 0, $3, $3
  WHERE EXISTS (SELECT 1 FROM {s}.pgqrs_workflow_runs WHERE id = $1)
  ON CONFLICT (run_id, step_name) DO NOTHING
  RETURNING )sql" PGQRS_STEP_COLUMNS R"sql()
SELECT * FROM ins
UNION ALL
SELECT )sql" PGQRS_STEP_COLUMNS R"sql( FROM {s}.pgqrs_workflow_steps
WHERE run_id = $1 AND step_name = $2 AND NOT EXISTS (SELECT 1 FROM ins))sql";
constexpr char kRunExists[] = "SELECT EXISTS (SELECT 1 FROM {s}.pgqrs_workflow_runs WHERE id = $1)";
// begin_step_at_boundary: $1 run, $2 step name, $3 message (0 = no lease to check), $4 worker,
// $5 now. The boundary (kRunBoundary's two values) gates the insert; the step row (inserted
// or existing; all NULL when refused) comes first, then the run status and lease_held.
// The statement commits without waiting for its WAL flush (synchronous_commit off for this
// transaction only, decision B4): the RUNNING row only says a step started; the step's
// outcome is committed durably, and flushes this start with it.
constexpr char kBeginStepAtBoundary[] = R"sql(
WITH b AS (
  SELECT (SELECT status FROM {s}.pgqrs_workflow_runs WHERE id = $1) AS status,
         set_config('synchronous_commit', 'off', true) AS lazy_commit,
         ($3 = 0 OR EXISTS (SELECT 1 FROM {s}.pgqrs_messages
                            WHERE id = $3 AND coalesce(consumer_worker_id, 0) = $4 AND vt > $5
                              AND coalesce(archived_at, dead_at) IS NULL)) AS lease_held),
     ok AS (SELECT 1 FROM b WHERE status IS NOT NULL AND status <> 'CANCELLING' AND lease_held),
     ins AS (
  INSERT INTO {s}.pgqrs_workflow_steps
    (run_id, step_name, status, retry_count, created_at, updated_at)
  SELECT $1, $2, 'RUNNING', 0, $5, $5 FROM ok
  ON CONFLICT (run_id, step_name) DO NOTHING
  RETURNING )sql" PGQRS_STEP_COLUMNS R"sql(),
     st AS (
  SELECT * FROM ins
  UNION ALL
  SELECT )sql" PGQRS_STEP_COLUMNS R"sql( FROM {s}.pgqrs_workflow_steps
  WHERE run_id = $1 AND step_name = $2 AND EXISTS (SELECT 1 FROM ok)
    AND NOT EXISTS (SELECT 1 FROM ins))
SELECT st.*, b.status, b.lease_held FROM b LEFT JOIN st ON true)sql";
// $3 status, $4 output, $5 error (NULL = keep), $6 retry_at (NULL = clear), $7 retry_count
// (NULL = keep), $8 now, $9 true = clear the error. A recorded success is final.
constexpr char kUpdateStep[] = R"sql(
UPDATE {s}.pgqrs_workflow_steps
SET status = $3, output = coalesce($4, output),
    error = CASE WHEN $9 THEN NULL ELSE coalesce($5, error) END, retry_at = $6,
    retry_count = coalesce($7, retry_count), updated_at = $8
WHERE run_id = $1 AND step_name = $2 AND status <> 'SUCCESS')sql";
// Creation order: identity values follow insertion order.
constexpr char kListSteps[] =
    "SELECT " PGQRS_STEP_COLUMNS " FROM {s}.pgqrs_workflow_steps WHERE run_id = $1 ORDER BY id";

// Optional values as typed parameters (SQL NULL of the column's type when absent).
Params& jsonb_or_null(Params& p, const std::optional<std::string>& v) {
  return v ? p.jsonb(*v) : p.null(kJsonbOid);
}
Params& time_or_null(Params& p, const std::optional<TimePoint>& v) {
  return v ? p.time(*v) : p.null(kTimestamptzOid);
}
Params& int4_or_null(Params& p, const std::optional<std::int32_t>& v) {
  return v ? p.int4(*v) : p.null(kInt4Oid);
}
Params& text_or_null(Params& p, const std::optional<std::string>& v) {
  return v ? p.text(*v) : p.null(kTextOid);
}

std::optional<RunRecord> first_run(const Result& r) {
  if (r.rows() == 0) return std::nullopt;
  return backend::read_run(PgRow(r, 0));
}

[[noreturn]] void throw_not_registered(std::string_view workflow) {
  throw ValidationError("workflow '" + std::string(workflow) +
                        "' is not registered (create it first: "
                        "pgqrs::workflow().name(def).create(store))");
}

}  // namespace

// ---- workflows ----------------------------------------------------------------------------

// Serialised per name by an advisory lock, so concurrent creates of one workflow agree on
// one row (and none fails on the unique name). Idempotent: an unknown commit outcome is
// resolved by running it again.
WorkflowRecord PostgresBackend::create_workflow(std::string_view name, TimePoint now) {
  return exec_.transaction(
      "create_workflow",
      [&](Session& s) {
        s.exec(sql_(kLockWorkflowName),
               Params().text("pgqrs.workflow:" + schema_ + ":" + std::string(name)));
        auto existing = s.exec(sql_(kWorkflowByName), Params().text(name));
        if (existing.rows() > 0) return backend::read_workflow(PgRow(existing, 0));
        auto queue = s.exec(sql_(kQueueIdForWorkflow), Params().text(name).time(now));
        if (queue.rows() == 0) {
          throw InternalError("create_workflow: queue '" + std::string(name) +
                              "' neither exists nor could be created");
        }
        auto created =
            s.exec(sql_(kInsertWorkflow), Params().text(name).int8(queue.int8(0, 0)).time(now));
        return backend::read_workflow(PgRow(created, 0));
      },
      /*idempotent=*/true);
}

std::optional<WorkflowRecord> PostgresBackend::find_workflow(std::string_view name) {
  return exec_.read("find_workflow", [&](Session& s) -> std::optional<WorkflowRecord> {
    auto r = s.exec(sql_(kWorkflowByName), Params().text(name));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_workflow(PgRow(r, 0));
  });
}

std::vector<WorkflowRecord> PostgresBackend::list_workflows() {
  return exec_.read("list_workflows", [&](Session& s) {
    auto r = s.exec(sql_(kAllWorkflows), Params());
    std::vector<WorkflowRecord> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_workflow(PgRow(r, i)));
    return out;
  });
}

// ---- runs ---------------------------------------------------------------------------------

backend::TriggeredRun PostgresBackend::trigger_run(std::string_view workflow,
                                                   const std::string& input, TimePoint now,
                                                   const MessageOptions& flow,
                                                   const backend::MessageTrace& trace) {
  backend::TriggeredRun out = trigger_committed(workflow, input, now, flow, trace);
  notify_after_commit(std::string(workflow));  // the run's queue is named after the workflow
  return out;
}

backend::TriggeredRun PostgresBackend::trigger_committed(std::string_view workflow,
                                                         const std::string& input, TimePoint now,
                                                         const MessageOptions& flow,
                                                         const backend::MessageTrace& trace) {
  if (!flow.dedup_key && !app_version_) {
    return exec_.write("trigger_run", [&](Session& s) {
      return trigger_in(s, NotifyIn::kCaller, workflow, input, now, flow, trace);
    });
  }
  // A dedup key (the lookup and the trigger in one transaction) or a versioned store (the
  // trigger and its version in one transaction).
  return exec_.transaction("trigger_run", [&](Session& s) {
    if (!flow.dedup_key) return trigger_in(s, NotifyIn::kCaller, workflow, input, now, flow, trace);
    auto found = s.exec(sql_(kTriggerDedupLookup), Params().text(workflow).text(*flow.dedup_key));
    if (found.rows() == 0) throw_not_registered(workflow);
    if (found.is_null(0, 1))
      return trigger_in(s, NotifyIn::kCaller, workflow, input, now, flow, trace);
    const std::int64_t message_id = found.int8(0, 1);
    backend::TriggeredRun out;
    auto run = first_run(s.exec(sql_(kRunByMessage), Params().int8(message_id)));
    if (!run) {
      throw ConflictError("workflow '" + std::string(workflow) + "': dedup key '" +
                          *flow.dedup_key + "' is held by message " + std::to_string(message_id) +
                          ", which has no run");
    }
    out.run = *run;
    auto m = s.exec(sql_(kTriggerMessageById), Params().int8(message_id));
    out.message = backend::read_message(PgRow(m, 0));
    return out;
  });
}

backend::TriggeredRun PostgresBackend::trigger_in(Session& s, NotifyIn notify,
                                                  std::string_view workflow,
                                                  const std::string& input, TimePoint now,
                                                  const MessageOptions& flow,
                                                  const backend::MessageTrace& trace) {
  const std::string messages_table = sql_.quoted_schema() + ".pgqrs_messages";
  auto r = s.exec(sql_(kTriggerRun), Params()
                                         .text(workflow)
                                         .jsonb(input)
                                         .time(now)
                                         .text(messages_table)
                                         .text(channel_)
                                         .int4(flow.priority)
                                         .text(flow.dedup_key.value_or(""))
                                         .text(flow.concurrency_key.value_or(""))
                                         .optional_text(trace.traceparent)
                                         .optional_text(trace.tracestate)
                                         .boolean(notify == NotifyIn::kStatement));
  if (r.rows() == 0) throw_not_registered(workflow);
  backend::TriggeredRun out;
  out.run = backend::read_run(PgRow(r, 0));
  out.message = backend::read_message(PgRow(r, 0, kTriggerMessageColumn));
  // Callers run this in a transaction whenever app_version_ is set (trigger_run, fork_run,
  // start_child_run), so the run never exists unversioned.
  if (app_version_) s.exec(sql_(kSetRunVersion), Params().int8(out.run.id).text(*app_version_));
  return out;
}

std::optional<RunRecord> PostgresBackend::get_run(std::int64_t run_id) {
  return exec_.read("get_run", [&](Session& s) {
    return first_run(s.exec(sql_(kRunById), Params().int8(run_id)));
  });
}

std::optional<RunRecord> PostgresBackend::find_run_by_message(std::int64_t message_id) {
  return exec_.read("find_run_by_message", [&](Session& s) {
    return first_run(s.exec(sql_(kRunByMessage), Params().int8(message_id)));
  });
}

std::vector<RunRecord> PostgresBackend::list_runs(const backend::RunFilter& filter) {
  return exec_.read("list_runs", [&](Session& s) {
    Params p;
    text_or_null(
        p, filter.status ? std::optional<std::string>(to_string(*filter.status)) : std::nullopt);
    time_or_null(p, filter.since);
    p.int8(filter.limit);
    text_or_null(p, filter.workflow);
    p.optional_int8(filter.before_id);
    auto r = s.exec(sql_(kListRuns), p);
    std::vector<RunRecord> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_run(PgRow(r, i)));
    return out;
  });
}

// An unknown run id changes nothing and returns started = false with a default RunRecord
// (id 0), as on every backend: the caller drops a message that names no run.
backend::RunStart PostgresBackend::start_run(std::int64_t run_id, TimePoint now) {
  return exec_.write("start_run", [&](Session& s) {
    backend::RunStart out;
    auto r = s.exec(sql_(kStartRun),
                    Params().int8(run_id).time(now).text(channel_).optional_text(app_version_));
    if (auto run = first_run(r)) {
      out.run = std::move(*run);
      // The last column: the update applied. Unchanged and unfinished, not cancelling:
      // another version's run.
      const bool changed = r.boolean(0, 10);
      out.started = out.run.status == WorkflowStatus::kRunning && changed;
      out.other_version =
          !changed && !is_terminal(out.run.status) && out.run.status != WorkflowStatus::kCancelling;
    }
    return out;
  });
}

backend::Backend::RunBoundary PostgresBackend::run_boundary(std::int64_t run_id,
                                                            std::int64_t message_id,
                                                            std::int64_t worker, TimePoint now) {
  return exec_.read("run_boundary", [&](Session& s) {
    auto r =
        s.exec(sql_(kRunBoundary), Params().int8(run_id).int8(message_id).int8(worker).time(now));
    RunBoundary b;
    if (!r.is_null(0, 0)) {
      b.status =
          backend::parse_stored_status(r.text(0, 0), "workflow run " + std::to_string(run_id));
    }
    b.lease_held = r.boolean(0, 1);
    return b;
  });
}

bool PostgresBackend::finish_run(std::int64_t run_id, WorkflowStatus status,
                                 const std::optional<std::string>& output,
                                 const std::optional<std::string>& error, TimePoint now) {
  return exec_.write("finish_run", [&](Session& s) {
    Params p;
    p.int8(run_id).text(to_string(status));
    jsonb_or_null(p, output);
    jsonb_or_null(p, error);
    p.time(now).text(channel_);
    return s.exec(sql_(kFinishRun), p).int8(0, 0) > 0;
  });
}

bool PostgresBackend::pause_run(std::int64_t run_id, const std::optional<std::string>& error,
                                TimePoint now) {
  return exec_.write("pause_run", [&](Session& s) {
    Params p;
    p.int8(run_id).time(now);
    jsonb_or_null(p, error);
    return s.exec(sql_(kPauseRun), p).affected() > 0;
  });
}

std::optional<bool> PostgresBackend::cancel_run(std::int64_t run_id, TimePoint now) {
  return exec_.write("cancel_run", [&](Session& s) -> std::optional<bool> {
    auto r = s.exec(sql_(kCancelRun), Params().int8(run_id).time(now).text(channel_));
    if (!r.boolean(0, 0)) return std::nullopt;
    return r.boolean(0, 1);
  });
}

std::optional<bool> PostgresBackend::resume_run_now(std::int64_t run_id, TimePoint now) {
  return exec_.write("resume_run_now", [&](Session& s) -> std::optional<bool> {
    auto r = s.exec(sql_(kResumeRunNow), Params().int8(run_id).time(now).text(channel_));
    if (!r.boolean(0, 0)) return std::nullopt;
    return r.boolean(0, 1);
  });
}

// ---- steps --------------------------------------------------------------------------------

std::optional<StepRecord> PostgresBackend::get_step(std::int64_t run_id, std::string_view name) {
  return exec_.read("get_step", [&](Session& s) -> std::optional<StepRecord> {
    auto r = s.exec(sql_(kStep), Params().int8(run_id).text(name));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_step(PgRow(r, 0));
  });
}

// An unknown run is a ValidationError naming it (rather than a foreign-key failure).
StepRecord PostgresBackend::begin_step(std::int64_t run_id, std::string_view name, TimePoint now) {
  auto begun = exec_.write("begin_step", [&](Session& s) -> std::optional<StepRecord> {
    auto r = s.exec(sql_(kBeginStep), Params().int8(run_id).text(name).time(now));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_step(PgRow(r, 0));
  });
  if (begun) return std::move(*begun);
  // Either a concurrent begin_step of the same step committed first (its row was not in
  // this statement's snapshot), or the run does not exist.
  if (auto step = get_step(run_id, name)) return std::move(*step);
  const bool run_exists = exec_.read("begin_step", [&](Session& s) {
    return s.exec(sql_(kRunExists), Params().int8(run_id)).boolean(0, 0);
  });
  if (!run_exists) {
    throw ValidationError("cannot begin step '" + std::string(name) + "': workflow run " +
                          std::to_string(run_id) + " does not exist");
  }
  throw InternalError("begin_step: step '" + std::string(name) + "' of run " +
                      std::to_string(run_id) + " is not readable after its insert");
}

backend::Backend::BegunStep PostgresBackend::begin_step_at_boundary(std::int64_t run_id,
                                                                    std::string_view name,
                                                                    std::int64_t message_id,
                                                                    std::int64_t worker,
                                                                    TimePoint now) {
  BegunStep out = exec_.write("begin_step", [&](Session& s) {
    auto r = s.exec(sql_(kBeginStepAtBoundary),
                    Params().int8(run_id).text(name).int8(message_id).int8(worker).time(now));
    BegunStep b;
    const int status_col = r.columns() - 2;
    if (!r.is_null(0, status_col)) {
      b.boundary.status = backend::parse_stored_status(r.text(0, status_col),
                                                       "workflow run " + std::to_string(run_id));
    }
    b.boundary.lease_held = r.boolean(0, status_col + 1);
    if (!r.is_null(0, 0)) b.step = backend::read_step(PgRow(r, 0));
    return b;
  });
  const bool allowed = out.boundary.status && *out.boundary.status != WorkflowStatus::kCancelling &&
                       out.boundary.lease_held;
  // A concurrent begin of the same step committed after this statement's snapshot: its
  // row is readable now.
  if (allowed && !out.step) out.step = begin_step(run_id, name, now);
  return out;
}

bool PostgresBackend::update_step(std::int64_t run_id, std::string_view name,
                                  const StepUpdate& update, TimePoint now) {
  return exec_.write("update_step", [&](Session& s) {
    Params p;
    p.int8(run_id).text(name).text(to_string(update.status));
    jsonb_or_null(p, update.output);
    jsonb_or_null(p, update.error);
    time_or_null(p, update.retry_at);
    int4_or_null(p, update.retry_count);
    p.time(now).boolean(update.clear_error);
    return s.exec(sql_(kUpdateStep), p).affected() > 0;
  });
}

std::vector<StepRecord> PostgresBackend::list_steps(std::int64_t run_id) {
  return exec_.read("list_steps", [&](Session& s) {
    auto r = s.exec(sql_(kListSteps), Params().int8(run_id));
    std::vector<StepRecord> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_step(PgRow(r, i)));
    return out;
  });
}

}  // namespace pgqrs::pg
