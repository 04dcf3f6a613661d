// WorkflowStore: the capability that stores workflow definitions, runs and steps. The engine
// owns the run state machine and the step protocol (src/core/run*.cc); these are its atomic
// storage operations. JSON values arrive serialised (validated) and return parsed.
// Shared contracts of every capability: see backend/backend.h.
//
// Room for workflow coordination (issue 15): messages to a run, events and streams from a
// run, child runs and forks are separate tables with their own capability (e.g. a
// RunMessageStore beside this one), not more methods here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/capabilities/messages.h"
#include "pgqrs/clock.h"
#include "pgqrs/records.h"
#include "pgqrs/versions.h"
#include "pgqrs/workflow.h"

namespace pgqrs::backend {

using pgqrs::RunFilter;

struct TriggeredRun {
  RunRecord run;
  QueueMessage message;
};

// Result of WorkflowStore::start_run.
struct RunStart {
  RunRecord run;         // after the call
  bool started = false;  // moved (or stayed) RUNNING: the caller should execute it
  // Not started because the run belongs to another app version than the store's
  // (config.app_version; docs/workflows.md "Safe upgrades"): the run is unchanged and
  // unfinished, and a worker of its version should execute it.
  bool other_version = false;
};

class WorkflowStore {
 public:
  virtual ~WorkflowStore() = default;

  // ---- definitions
  // Registers workflow `name` and a queue of the same name (each created if missing).
  // Idempotent: returns the existing record.
  virtual WorkflowRecord create_workflow(std::string_view name, TimePoint now) = 0;
  virtual std::optional<WorkflowRecord> find_workflow(std::string_view name) = 0;
  virtual std::vector<WorkflowRecord> list_workflows() = 0;

  // ---- runs
  // In ONE transaction: a QUEUED run row and its message on the workflow's queue with
  // payload <input> and trace context `trace` (run.message_id = message id: the run is
  // found from the message, and continues the trace of its trigger through it).
  // ValidationError naming the workflow if it is not registered.
  // `flow`: the message's flow fields (issue 14). With a dedup key held by a live message of
  // the workflow's queue, nothing is created and that message and its run are returned (an
  // idempotent trigger). The default argument is repeated, identical, on every override.
  virtual TriggeredRun trigger_run(std::string_view workflow, const std::string& input,
                                   TimePoint now, const MessageOptions& flow = {},
                                   const MessageTrace& trace = {}) = 0;
  virtual std::optional<RunRecord> get_run(std::int64_t run_id) = 0;
  virtual std::optional<RunRecord> find_run_by_message(std::int64_t message_id) = 0;
  virtual std::vector<RunRecord> list_runs(const RunFilter& filter) = 0;
  // QUEUED|PAUSED|RUNNING -> RUNNING (started = true) when the run is unversioned or of the
  // store's app version (or the store is unversioned), else unchanged (other_version);
  // CANCELLING -> CANCELLED (started = false); a finished run is returned unchanged.
  virtual RunStart start_run(std::int64_t run_id, TimePoint now) = 0;
  // Compare-and-set: RUNNING|CANCELLING -> `status` (SUCCESS, ERROR or CANCELLED) with
  // output / error. False (nothing changed) if the run is in another state; the engine
  // decides what that means (core/run_control.cc).
  virtual bool finish_run(std::int64_t run_id, WorkflowStatus status,
                          const std::optional<std::string>& output,
                          const std::optional<std::string>& error, TimePoint now) = 0;
  // QUEUED|RUNNING|PAUSED -> PAUSED, storing `error` when given (Run::pause_run records
  // {"message", "resume_after"} there). False if the run is finished or being cancelled.
  virtual bool pause_run(std::int64_t run_id, const std::optional<std::string>& error,
                         TimePoint now) = 0;
  // QUEUED|RUNNING|PAUSED -> CANCELLING; if the run's message is not leased now, it is made
  // visible now (vt = now) so a worker observes the cancellation promptly. False (nothing
  // changed) for CANCELLING or finished runs; nullopt for an unknown run id.
  virtual std::optional<bool> cancel_run(std::int64_t run_id, TimePoint now) = 0;
  // Ends a PAUSED run's wait now, in one transaction: every PAUSED step of the run waiting
  // until a later time (a durable sleep, a recv deadline: retry_at > now) becomes due now,
  // and the run's message, if not leased, is made visible now. False (nothing
  // changed) unless the run is PAUSED; nullopt for an unknown run id.
  virtual std::optional<bool> resume_run_now(std::int64_t run_id, TimePoint now) = 0;

  // What a step boundary must know, in one read (one snapshot): the run's status (nullopt:
  // no such run) and whether `worker` holds a valid lease on `message_id` (not archived or
  // dead, consumer == worker, vt > now).
  struct RunBoundary {
    std::optional<WorkflowStatus> status;
    bool lease_held = false;
  };
  virtual RunBoundary run_boundary(std::int64_t run_id, std::int64_t message_id,
                                   std::int64_t worker, TimePoint now) = 0;

  // ---- steps (unique by run and name)
  virtual std::optional<StepRecord> get_step(std::int64_t run_id, std::string_view name) = 0;
  // Inserts step `name` as RUNNING if absent; returns the row either way.
  virtual StepRecord begin_step(std::int64_t run_id, std::string_view name, TimePoint now) = 0;
  // run_boundary() and begin_step() in one round trip, one snapshot and one transaction (the
  // engine's step start): inserts step `name` as RUNNING if absent, and returns its row,
  // only when the run exists, is not CANCELLING and — for message_id != 0 — `worker` holds
  // a valid lease on message_id (message_id 0: no lease to check, lease_held = true).
  // Otherwise `step` is nullopt, nothing is written, and `boundary` says why.
  struct BegunStep {
    RunBoundary boundary;
    std::optional<StepRecord> step;
  };
  virtual BegunStep begin_step_at_boundary(std::int64_t run_id, std::string_view name,
                                           std::int64_t message_id, std::int64_t worker,
                                           TimePoint now) = 0;
  // Sets status (and output / error / retry_at / retry_count when given) of an existing step
  // unless it already SUCCEEDED (a recorded success is final). Returns whether it applied.
  struct StepUpdate {
    WorkflowStatus status = WorkflowStatus::kRunning;
    std::optional<std::string> output;
    std::optional<std::string> error;
    std::optional<TimePoint> retry_at;  // cleared when not given
    std::optional<std::int32_t> retry_count;
    bool clear_error = false;  // set error to NULL (wins over `error`)
  };
  virtual bool update_step(std::int64_t run_id, std::string_view name, const StepUpdate& update,
                           TimePoint now) = 0;
  // Oldest first (creation order).
  virtual std::vector<StepRecord> list_steps(std::int64_t run_id) = 0;

  // Fork (docs/workflows.md "Fork and rerun"): in ONE transaction, a new run of the source
  // run's workflow with the source's input (QUEUED, with its message: as trigger_run) and a
  // copy of the source's steps named in `copy_steps` (status, input, output, error,
  // retry_count as stored; created_at / updated_at = now), so they are not executed again.
  // nullopt (nothing written) when the source run does not exist.
  virtual std::optional<TriggeredRun> fork_run(std::int64_t source_run_id,
                                               const std::vector<std::string>& copy_steps,
                                               TimePoint now) = 0;

  // ---- app versions (pgqrs/versions.h): the store's own version is config.app_version
  // Unfinished runs (QUEUED|RUNNING|PAUSED) with a version that no worker of their workflow's
  // queue serves among those ready or polling with heartbeat_at >= heartbeat_after (a worker
  // serves a version when it is unversioned or of that version). Oldest first.
  virtual std::vector<StrandedRun> stranded_runs(TimePoint heartbeat_after,
                                                 std::uint32_t limit) = 0;
  // app_version = `to` (nullopt: unversioned) on unfinished runs (QUEUED|RUNNING|PAUSED|
  // CANCELLING) whose version is `from` ("": unversioned; nullopt: any) of `workflow`
  // (nullopt: any). Returns how many.
  virtual std::uint64_t migrate_runs(const std::optional<std::string>& from,
                                     const std::optional<std::string>& to,
                                     const std::optional<std::string>& workflow, TimePoint now) = 0;
};

}  // namespace pgqrs::backend
