// SqlFamilyBackend: durable workflows (SPEC §5) — workflow definitions, runs and steps.
//
// The engine owns the run state machine and the step protocol; this file stores them. Every
// state change is a compare-and-set inside one BEGIN IMMEDIATE transaction (the write lock
// is held from BEGIN, so a read-then-write cannot interleave with another connection in any
// process). Statuses are stored as their to_string() text ("QUEUED", "RUNNING", ...), which
// the CHECK constraints of migration 1 pin; the literals below are those same names.
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backend/sqlite_family/lease_sql.h"
#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/run_wake_sql.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

// ---- workflows ----

constexpr char kWorkflowByName[] =
    "SELECT " PGQRS_WORKFLOW_COLUMNS " FROM pgqrs_workflows WHERE name = ?1";
constexpr char kAllWorkflows[] =
    "SELECT " PGQRS_WORKFLOW_COLUMNS " FROM pgqrs_workflows ORDER BY name";
constexpr char kInsertWorkflow[] =
    "INSERT INTO pgqrs_workflows (name, queue_id, created_at) VALUES (?1, ?2, ?3) RETURNING id";

// ---- runs ----

constexpr char kInsertRun[] = R"sql(
INSERT INTO pgqrs_workflow_runs (workflow_id, status, input, created_at, updated_at)
VALUES (?1, 'QUEUED', ?2, ?3, ?3) RETURNING id)sql";
// A versioned store's runs record its version (only then: an unversioned store writes no
// column of schema step 7 here, so it also triggers on an older schema, e.g. in upgrade tests).
constexpr char kSetRunVersion[] = "UPDATE pgqrs_workflow_runs SET app_version = ?2 WHERE id = ?1";
constexpr char kRunIdByMessage[] = "SELECT id FROM pgqrs_workflow_runs WHERE message_id = ?1";
constexpr char kSetRunMessage[] = "UPDATE pgqrs_workflow_runs SET message_id = ?2 WHERE id = ?1";
// The same text as the message read of sql_backend_messages.cc (one cached statement).
constexpr char kMessageById[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM pgqrs_messages WHERE id = ?1";

// ?1 message, ?2 worker, ?3 now: a row when the worker holds a valid lease on the message
// (lease_sql.h).
constexpr char kLeaseHeld[] = "SELECT 1 FROM pgqrs_messages" PGQRS_SQL_HELD_BY_WORKER;

constexpr char kRunById[] = PGQRS_SQL_SELECT_RUNS " WHERE r.id = ?1";
constexpr char kRunByMessage[] = PGQRS_SQL_SELECT_RUNS " WHERE r.message_id = ?1";

// list_runs, newest first. ?1 = status text or NULL, ?2 = since (INT64 min when absent, so
// the created_at range always bounds the index scan), ?3 = limit, ?4/?5 = the paging
// cursor (created_at, id): only runs after it in (created_at DESC, id DESC) order
// (INT64 max both when not paging), ?6 = workflow name. Two texts so that each is served by an
// index in ORDER BY order (pgqrs_workflow_runs_created_idx / pgqrs_workflow_runs_workflow_idx, both
// ending in the implicit rowid): a page is one range scan of the index from the cursor down,
// stopping after `limit` matches.
#define PGQRS_SQL_RUN_FILTER                                                          \
  " (?1 IS NULL OR r.status = ?1) AND r.created_at >= ?2 AND r.created_at <= ?4 AND " \
  "(r.created_at < ?4 OR r.id < ?5) ORDER BY r.created_at DESC, r.id DESC LIMIT ?3"
constexpr char kListRuns[] = PGQRS_SQL_SELECT_RUNS " WHERE" PGQRS_SQL_RUN_FILTER;
constexpr char kListRunsOfWorkflow[] = PGQRS_SQL_SELECT_RUNS
    " WHERE r.workflow_id = (SELECT id FROM pgqrs_workflows WHERE name = ?6) "
    "AND" PGQRS_SQL_RUN_FILTER;
#undef PGQRS_SQL_RUN_FILTER
// The paging cursor of list_runs: run ?1, or, if it is gone, the newest run before it.
constexpr char kRunCursor[] =
    "SELECT created_at, id FROM pgqrs_workflow_runs WHERE id <= ?1 ORDER BY id DESC LIMIT 1";

// start_run: QUEUED|PAUSED|RUNNING -> RUNNING (only a run of version ?3, or any version when
// ?3 or the run's version is NULL), CANCELLING -> CANCELLED (any version); finished runs are
// left alone.
constexpr char kStartRun[] = R"sql(
UPDATE pgqrs_workflow_runs
SET status = CASE WHEN status = 'CANCELLING' THEN 'CANCELLED' ELSE 'RUNNING' END, updated_at = ?2
WHERE id = ?1 AND (status = 'CANCELLING' OR (status IN ('QUEUED', 'PAUSED', 'RUNNING') AND
      (?3 IS NULL OR app_version IS NULL OR app_version = ?3))))sql";

constexpr char kFinishRun[] = R"sql(
UPDATE pgqrs_workflow_runs SET status = ?2, output = ?3, error = ?4, updated_at = ?5
WHERE id = ?1 AND status IN ('RUNNING', 'CANCELLING'))sql";

// ?1 run, ?2 now, ?3 error (NULL = keep).
constexpr char kPauseRun[] =
    "UPDATE pgqrs_workflow_runs SET status = 'PAUSED', error = COALESCE(?3, error), "
    "updated_at = ?2 WHERE id = ?1 AND status IN ('QUEUED', 'RUNNING', 'PAUSED')";

constexpr char kRunStatusAndMessage[] =
    "SELECT status, message_id FROM pgqrs_workflow_runs WHERE id = ?1";
constexpr char kCancelRun[] =
    "UPDATE pgqrs_workflow_runs SET status = 'CANCELLING', updated_at = ?2 WHERE id = ?1";
// resume_run_now: PAUSED steps waiting until later (a durable sleep, a recv deadline) are due.
constexpr char kStepsDueNow[] = R"sql(
UPDATE pgqrs_workflow_steps SET retry_at = ?2, updated_at = ?2
WHERE run_id = ?1 AND retry_at > ?2 AND status = 'PAUSED')sql";

// ---- steps ----

constexpr char kStep[] =
    "SELECT " PGQRS_STEP_COLUMNS " FROM pgqrs_workflow_steps WHERE run_id = ?1 AND step_name = ?2";
constexpr char kBeginStep[] = R"sql(
INSERT INTO pgqrs_workflow_steps (run_id, step_name, status, retry_count, created_at, updated_at)
VALUES (?1, ?2, 'RUNNING', 0, ?3, ?3)
ON CONFLICT (run_id, step_name) DO NOTHING)sql";
constexpr char kRunExists[] = "SELECT 1 FROM pgqrs_workflow_runs WHERE id = ?1";
// ?3 status, ?4 output, ?5 error (NULL = keep), ?6 retry_at (NULL = clear), ?7 retry_count
// (NULL = keep), ?8 now, ?9 1 = clear the error. A recorded success is final.
constexpr char kUpdateStep[] = R"sql(
UPDATE pgqrs_workflow_steps
SET status = ?3, output = COALESCE(?4, output),
    error = CASE WHEN ?9 = 1 THEN NULL ELSE COALESCE(?5, error) END, retry_at = ?6,
    retry_count = COALESCE(?7, retry_count), updated_at = ?8
WHERE run_id = ?1 AND step_name = ?2 AND status <> 'SUCCESS')sql";
// Creation order: ids are assigned in insertion order (a run's steps are only ever deleted
// together with the run), which is exact even when callers' clocks disagree.
constexpr char kListSteps[] =
    "SELECT " PGQRS_STEP_COLUMNS " FROM pgqrs_workflow_steps WHERE run_id = ?1 ORDER BY id";

std::optional<WorkflowRecord> workflow_by_name(Session& s, std::string_view name) {
  auto q = s.query(kWorkflowByName);
  q.bind(name);
  if (!q.step()) return std::nullopt;
  return backend::read_workflow(QueryRow(q));
}

std::optional<RunRecord> run_by_id(Session& s, std::int64_t run_id) {
  auto q = s.query(kRunById);
  q.bind(run_id);
  if (!q.step()) return std::nullopt;
  return backend::read_run(QueryRow(q));
}

std::optional<StepRecord> step_by_name(Session& s, std::int64_t run_id, std::string_view name) {
  auto q = s.query(kStep);
  q.bind(run_id).bind(name);
  if (!q.step()) return std::nullopt;
  return backend::read_step(QueryRow(q));
}

}  // namespace

// ---- workflows ----------------------------------------------------------------------------

// Check-then-insert is race-free: BEGIN IMMEDIATE serialises every writer of the database.
// An existing queue of the same name is adopted (only a missing one is created).
WorkflowRecord SqlFamilyBackend::create_workflow(std::string_view name, TimePoint now) {
  return exec_.write("create_workflow", [&](Session& s) {
    if (auto existing = workflow_by_name(s, name)) return *existing;
    WorkflowRecord w;
    w.name = std::string(name);
    const auto queue_id = find_queue_id(s, name);
    w.queue_id = queue_id ? *queue_id : insert_queue(s, name, now);
    w.id = s.query(kInsertWorkflow).bind(name).bind(w.queue_id).bind(now).insert_returning_id();
    w.created_at = stored(now);
    return w;
  });
}

std::optional<WorkflowRecord> SqlFamilyBackend::find_workflow(std::string_view name) {
  return exec_.read("find_workflow", [&](Session& s) { return workflow_by_name(s, name); });
}

std::vector<WorkflowRecord> SqlFamilyBackend::list_workflows() {
  return exec_.read("list_workflows", [](Session& s) {
    std::vector<WorkflowRecord> out;
    auto q = s.query(kAllWorkflows);
    while (q.step()) out.push_back(backend::read_workflow(QueryRow(q)));
    return out;
  });
}

// ---- runs ---------------------------------------------------------------------------------

// One transaction: run row (QUEUED, message_id NULL) -> message carrying the run id ->
// run.message_id. Both records are read back, so they equal what later reads return.
backend::TriggeredRun SqlFamilyBackend::trigger_run(std::string_view workflow,
                                                    const std::string& input, TimePoint now,
                                                    const MessageOptions& flow,
                                                    const backend::MessageTrace& trace) {
  return exec_.write("trigger_run",
                     [&](Session& s) { return trigger_in(s, workflow, input, now, flow, trace); });
}

backend::TriggeredRun SqlFamilyBackend::trigger_in(Session& s, std::string_view workflow,
                                                   const std::string& input, TimePoint now,
                                                   const MessageOptions& flow,
                                                   const backend::MessageTrace& trace) {
  {
    const auto wf = workflow_by_name(s, workflow);
    if (!wf) {
      throw ValidationError("workflow '" + std::string(workflow) +
                            "' is not registered (create it first: "
                            "pgqrs::workflow().name(def).create(store))");
    }
    std::optional<std::int64_t> run_id;
    std::int64_t message_id = 0;
    if (flow == MessageOptions{}) {
      run_id = s.query(kInsertRun).bind(wf->id).bind(input).bind(now).insert_returning_id();
      message_id = insert_message(s, wf->queue_id, input, now, now, std::nullopt, trace);
    } else {
      // The flow path of enqueue (sql_backend_flow.cc): a live holder of the dedup key is
      // returned instead of a new message; its run is the existing run.
      backend::EnqueueParams e;
      e.payloads = {input};
      e.visible_at = e.now = now;
      e.flow = {flow};
      e.max_read_ct = max_read_ct_;
      e.trace = trace;
      message_id = enqueue_flow(s, wf->queue_id, e).front();
      auto existing = s.query(kRunIdByMessage);
      if (existing.bind(message_id).step()) run_id = existing.int64(0);
    }
    if (!run_id) {
      run_id = s.query(kInsertRun).bind(wf->id).bind(input).bind(now).insert_returning_id();
    }
    s.query(kSetRunMessage).bind(*run_id).bind(message_id).execute();
    if (app_version_) s.query(kSetRunVersion).bind(*run_id).bind(*app_version_).execute();

    backend::TriggeredRun out;
    out.run = *run_by_id(s, *run_id);
    auto q = s.query(kMessageById);
    q.bind(message_id);
    if (!q.step()) throw InternalError("trigger_run: the new message is not readable");
    out.message = backend::read_message(QueryRow(q));
    return out;
  }
}

std::optional<RunRecord> SqlFamilyBackend::get_run(std::int64_t run_id) {
  return exec_.read("get_run", [&](Session& s) { return run_by_id(s, run_id); });
}

backend::Backend::RunBoundary SqlFamilyBackend::run_boundary(std::int64_t run_id,
                                                             std::int64_t message_id,
                                                             std::int64_t worker, TimePoint now) {
  return exec_.read("run_boundary", [&](Session& s) {
    RunBoundary b;
    if (auto run = run_by_id(s, run_id)) b.status = run->status;
    auto q = s.query(kLeaseHeld);
    q.bind(message_id).bind(worker).bind(now);
    b.lease_held = q.step();
    return b;
  });
}

std::optional<RunRecord> SqlFamilyBackend::find_run_by_message(std::int64_t message_id) {
  return exec_.read("find_run_by_message", [&](Session& s) -> std::optional<RunRecord> {
    auto q = s.query(kRunByMessage);
    q.bind(message_id);
    if (!q.step()) return std::nullopt;
    return backend::read_run(QueryRow(q));
  });
}

std::vector<RunRecord> SqlFamilyBackend::list_runs(const backend::RunFilter& filter) {
  return exec_.read("list_runs", [&](Session& s) {
    std::vector<RunRecord> out;
    // The cursor: runs strictly after (created_at, id) in list order.
    std::int64_t cursor_created = std::numeric_limits<std::int64_t>::max();
    std::int64_t cursor_id = std::numeric_limits<std::int64_t>::max();
    if (filter.before_id) {
      auto c = s.query(kRunCursor);
      c.bind(*filter.before_id);
      if (!c.step()) return out;  // no run at or before before_id: nothing older
      cursor_created = c.int64(0);
      const std::int64_t id = c.int64(1);
      // A stand-in for a deleted cursor run is itself listed (it was not on the last page).
      cursor_id = id == *filter.before_id ? id : id + 1;
    }
    auto q = s.query(filter.workflow ? kListRunsOfWorkflow : kListRuns);
    if (filter.status) {
      q.bind(to_string(*filter.status));
    } else {
      q.bind(std::nullopt);
    }
    if (filter.since) {
      q.bind(*filter.since);
    } else {
      q.bind(std::numeric_limits<std::int64_t>::min());
    }
    q.bind(filter.limit).bind(cursor_created).bind(cursor_id);
    if (filter.workflow) q.bind(*filter.workflow);
    while (q.step()) out.push_back(backend::read_run(QueryRow(q)));
    return out;
  });
}

// An unknown run id changes nothing and returns started = false with a default RunRecord
// (id 0): the caller treats it like a finished run and drops the message, instead of
// failing its poll loop on a message that names no run.
backend::RunStart SqlFamilyBackend::start_run(std::int64_t run_id, TimePoint now) {
  return exec_.write("start_run", [&](Session& s) {
    backend::RunStart out;
    const bool changed = s.query(kStartRun).bind(run_id).bind(now).bind(app_version_).execute() > 0;
    if (auto run = run_by_id(s, run_id)) {
      out.run = std::move(*run);
      out.started = changed && out.run.status == WorkflowStatus::kRunning;
      out.other_version =
          !changed && !is_terminal(out.run.status) && out.run.status != WorkflowStatus::kCancelling;
      // CANCELLING -> CANCELLED: the run ended here, without finish_run.
      if (changed && out.run.status == WorkflowStatus::kCancelled) {
        wake_parent_of_ended(s, run_id, "CANCELLED", now);
      }
    }
    return out;
  });
}

bool SqlFamilyBackend::finish_run(std::int64_t run_id, WorkflowStatus status,
                                  const std::optional<std::string>& output,
                                  const std::optional<std::string>& error, TimePoint now) {
  return exec_.write("finish_run", [&](Session& s) {
    const bool finished = s.query(kFinishRun)
                              .bind(run_id)
                              .bind(to_string(status))
                              .bind(output)
                              .bind(error)
                              .bind(now)
                              .execute() > 0;
    if (finished) wake_parent_of_ended(s, run_id, to_string(status), now);
    return finished;
  });
}

bool SqlFamilyBackend::pause_run(std::int64_t run_id, const std::optional<std::string>& error,
                                 TimePoint now) {
  return exec_.write("pause_run", [&](Session& s) {
    return s.query(kPauseRun).bind(run_id).bind(now).bind(error).execute() > 0;
  });
}

std::optional<bool> SqlFamilyBackend::cancel_run(std::int64_t run_id, TimePoint now) {
  return exec_.write("cancel_run", [&](Session& s) -> std::optional<bool> {
    std::optional<std::int64_t> message_id;
    {
      auto q = s.query(kRunStatusAndMessage);
      q.bind(run_id);
      if (!q.step()) return std::nullopt;
      const std::string status = q.text(0);
      if (status != "QUEUED" && status != "RUNNING" && status != "PAUSED") return false;
      message_id = q.optional_int64(1);
    }
    s.query(kCancelRun).bind(run_id).bind(now).execute();
    if (message_id) s.query(kWakeRunMessage).bind(*message_id).bind(now).execute();
    return true;
  });
}

// One write transaction: the run cannot leave PAUSED between the check and the wake.
std::optional<bool> SqlFamilyBackend::resume_run_now(std::int64_t run_id, TimePoint now) {
  return exec_.write("resume_run_now", [&](Session& s) -> std::optional<bool> {
    std::optional<std::int64_t> message_id;
    {
      auto q = s.query(kRunStatusAndMessage);
      q.bind(run_id);
      if (!q.step()) return std::nullopt;
      if (q.text(0) != "PAUSED") return false;
      message_id = q.optional_int64(1);
    }
    s.query(kStepsDueNow).bind(run_id).bind(now).execute();
    if (message_id) s.query(kWakeRunMessage).bind(*message_id).bind(now).execute();
    return true;
  });
}

// ---- steps --------------------------------------------------------------------------------

std::optional<StepRecord> SqlFamilyBackend::get_step(std::int64_t run_id, std::string_view name) {
  return exec_.read("get_step", [&](Session& s) { return step_by_name(s, run_id, name); });
}

// INSERT ... ON CONFLICT DO NOTHING, then read: an existing row wins, whatever its status.
// An unknown run is a ValidationError naming it (rather than a foreign-key failure).
StepRecord SqlFamilyBackend::begin_step(std::int64_t run_id, std::string_view name, TimePoint now) {
  return exec_.write("begin_step", [&](Session& s) {
    if (!s.query(kRunExists).bind(run_id).step()) {
      throw ValidationError("cannot begin step '" + std::string(name) + "': workflow run " +
                            std::to_string(run_id) + " does not exist");
    }
    s.query(kBeginStep).bind(run_id).bind(name).bind(now).execute();
    if (auto step = step_by_name(s, run_id, name)) return std::move(*step);
    throw InternalError("begin_step: step '" + std::string(name) + "' of run " +
                        std::to_string(run_id) + " is not readable after its insert");
  });
}

backend::Backend::BegunStep SqlFamilyBackend::begin_step_at_boundary(std::int64_t run_id,
                                                                     std::string_view name,
                                                                     std::int64_t message_id,
                                                                     std::int64_t worker,
                                                                     TimePoint now) {
  return exec_.write("begin_step", [&](Session& s) {
    BegunStep out;
    if (auto run = run_by_id(s, run_id)) out.boundary.status = run->status;
    if (message_id == 0) {
      out.boundary.lease_held = true;
    } else {
      auto q = s.query(kLeaseHeld);
      q.bind(message_id).bind(worker).bind(now);
      out.boundary.lease_held = q.step();
    }
    if (!out.boundary.status || *out.boundary.status == WorkflowStatus::kCancelling ||
        !out.boundary.lease_held) {
      return out;
    }
    s.query(kBeginStep).bind(run_id).bind(name).bind(now).execute();
    out.step = step_by_name(s, run_id, name);
    if (!out.step) {
      throw InternalError("begin_step: step '" + std::string(name) + "' of run " +
                          std::to_string(run_id) + " is not readable after its insert");
    }
    return out;
  });
}

bool SqlFamilyBackend::update_step(std::int64_t run_id, std::string_view name,
                                   const StepUpdate& update, TimePoint now) {
  return exec_.write("update_step", [&](Session& s) {
    return s.query(kUpdateStep)
               .bind(run_id)
               .bind(name)
               .bind(to_string(update.status))
               .bind(update.output)
               .bind(update.error)
               .bind(update.retry_at)
               .bind(update.retry_count)
               .bind(now)
               .bind(static_cast<std::int64_t>(update.clear_error ? 1 : 0))
               .execute() > 0;
  });
}

std::vector<StepRecord> SqlFamilyBackend::list_steps(std::int64_t run_id) {
  return exec_.read("list_steps", [&](Session& s) {
    std::vector<StepRecord> out;
    auto q = s.query(kListSteps);
    q.bind(run_id);
    while (q.step()) out.push_back(backend::read_step(QueryRow(q)));
    return out;
  });
}

}  // namespace pgqrs::sqlite_family
