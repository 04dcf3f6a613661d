// The storage backend interface (internal). The engine (src/core) speaks to storage only
// through this class, in terms of the domain, never SQL (ARCHITECTURE.md rule 1).
//
// Contracts shared by every backend:
//  - Every time ("now", visibility times) comes from the caller (the injected clock);
//    backends never read the wall clock for queue semantics.
//  - Queue arguments are names; an unknown queue is QueueNotFoundError.
//  - Inputs are already validated by the engine (names, payload limits, batch bounds);
//    payloads arrive as serialised JSON text and are returned parsed.
//  - Each method is atomic: it commits fully or changes nothing. Transient contention is
//    retried inside the backend within a bound, then surfaces as TimeoutError.
//  - Implementations are thread-safe (callers use one Backend from many threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"
#include "pgqrs/error.h"
#include "pgqrs/postgres.h"
#include "pgqrs/records.h"
#include "pgqrs/workflow.h"

namespace pgqrs::backend {

// Schema version installed by this build (bumped by each new migration).
inline constexpr std::int32_t kSchemaVersion = 1;

class ObjectSync;  // backend/object_sync.h

struct EnqueueParams {
  std::string queue;
  std::vector<std::string> payloads;  // serialised JSON, validated
  TimePoint visible_at;               // vt of the new messages
  TimePoint now;                      // enqueued_at
  std::optional<std::int64_t> producer_worker_id;
};

struct DequeueParams {
  std::string queue;
  std::uint32_t limit = 1;
  Duration lease{};  // new vt = now + lease
  std::int64_t consumer_worker_id = 0;
  TimePoint now;
  std::int32_t max_read_ct = 5;  // messages with read_ct >= this are dead-lettered, not leased
};

using pgqrs::RunFilter;

struct TriggeredRun {
  RunRecord run;
  QueueMessage message;
};

// Result of Backend::start_run.
struct RunStart {
  RunRecord run;         // after the call
  bool started = false;  // moved (or stayed) RUNNING: the caller should execute it
};

// Result of a worker status compare-and-set.
struct StatusChange {
  bool applied = false;
  std::optional<WorkerStatus> current;  // status after the call; nullopt = no such worker
};

// Keeps an activity subscription alive; destroying it unsubscribes (and waits for a callback
// in progress to finish).
class Subscription {
 public:
  virtual ~Subscription() = default;
};

// A database transaction lent to the user for their own statements, which enqueue can
// join (transactional enqueue, SPEC §3; public face: pgqrs/postgres.h). Postgres only.
// Used by one thread at a time. Destroying an open transaction rolls it back (never throws).
class UserTransaction {
 public:
  virtual ~UserTransaction() = default;
  // Runs one user statement with text parameters; postgres::SqlError when rejected.
  virtual postgres::Result execute(std::string_view sql,
                                   const std::vector<postgres::Param>& params) = 0;
  // Backend::enqueue's contract, inside this transaction (nothing is visible before commit).
  virtual std::vector<std::int64_t> enqueue(const EnqueueParams& p) = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual bool active() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;  // "sqlite", "postgres", ...

  // The replication controls of a backend whose database is one remote object (S3); null
  // for every other backend.
  virtual ObjectSync* object_sync() { return nullptr; }

  // ---- wake-ups -----------------------------------------------------------------------
  // Calls `on_activity` (from any thread, quickly, without throwing) when messages may have
  // become deliverable on `queue` because of a write by ANOTHER process or connection (e.g.
  // Postgres LISTEN/NOTIFY). Returns null when the backend has no such signal; idle pollers
  // then rely on poll_interval_ms. Enqueues within the same Store are signalled by the
  // engine itself, so backends need not report those.
  virtual std::unique_ptr<Subscription> subscribe(std::string_view queue,
                                                  std::function<void()> on_activity) {
    (void)queue;
    (void)on_activity;
    return nullptr;
  }

  // ---- user transactions ----------------------------------------------------------------
  // Opens a UserTransaction (BEGIN on a pooled connection). Backends without them throw
  // ConfigError naming the backend.
  virtual std::unique_ptr<UserTransaction> begin_user_transaction() {
    throw ConfigError(
        "transactional enqueue (pgqrs::postgres::begin) needs the postgres "
        "backend; this store uses the " +
        std::string(name()) + " backend");
  }

  // ---- schema -------------------------------------------------------------------------
  virtual void install() = 0;
  // Installed version, or nullopt when no pgqrs schema is present. Throws ConfigError if
  // the version table exists but a table is missing.
  virtual std::optional<std::int32_t> schema_version() = 0;
  virtual void uninstall() = 0;

  // ---- queues -------------------------------------------------------------------------
  virtual QueueInfo create_queue(std::string_view name, TimePoint now) = 0;
  virtual std::optional<QueueInfo> find_queue(std::string_view name) = 0;
  virtual std::vector<QueueInfo> list_queues() = 0;
  // ConflictError while the queue has any message row or a worker that is not stopped.
  virtual void delete_queue(std::string_view name) = 0;
  virtual std::uint64_t purge_queue(std::string_view name) = 0;

  // ---- messages -----------------------------------------------------------------------
  // All rows in one transaction; ids returned in input order.
  virtual std::vector<std::int64_t> enqueue(const EnqueueParams& p) = 0;
  // Leases up to p.limit deliverable messages, oldest visible first (vt, id): sets
  // vt = now + lease, read_ct += 1, dequeued_at = now, consumer_worker_id. Candidates with
  // read_ct >= max_read_ct are marked dead (dead_at = now, consumer cleared) instead. Result
  // ordered by (vt,id) of the candidates, i.e. delivery order. The consumer is checked in
  // the same transaction: unknown -> WorkerNotFoundError, stopped -> StateTransitionError.
  virtual std::vector<QueueMessage> dequeue(const DequeueParams& p) = 0;
  // Owner-only operations: apply to a message only when it is not archived/dead, its
  // consumer_worker_id == worker and its lease is valid (vt > now). One flag per id.
  virtual std::vector<bool> archive(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                    TimePoint now) = 0;
  virtual std::vector<bool> remove(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                   TimePoint now) = 0;
  // Sets vt = new_vt for leased messages of `worker`.
  virtual std::vector<bool> set_lease(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                      TimePoint new_vt, TimePoint now) = 0;
  // Gives messages back: vt = visible_at, consumer_worker_id = NULL; a message whose
  // read_ct >= max_read_ct is dead-lettered instead (dead_at = now). Counts as applied.
  virtual std::vector<bool> release(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                    TimePoint visible_at, TimePoint now,
                                    std::int32_t max_read_ct) = 0;
  // The handler poll loop's step: archive `ids` (as archive(ids, p.consumer_worker_id,
  // p.now)) and lease the next batch (as dequeue(p)). Backends that can do both in one
  // transaction / round trip override it: then either both happen or neither. This default
  // runs them one after the other, so when it throws the archive may already have applied;
  // a caller that then archives the ids again is safe (an archived id reports false).
  struct ArchiveAndLease {
    std::vector<bool> archived;        // one flag per id of `ids`
    std::vector<QueueMessage> leased;  // as dequeue() returns them
  };
  virtual ArchiveAndLease archive_and_dequeue(const std::vector<std::int64_t>& ids,
                                              const DequeueParams& p) {
    ArchiveAndLease out;
    out.archived = archive(ids, p.consumer_worker_id, p.now);
    out.leased = dequeue(p);
    return out;
  }

  virtual std::optional<QueueMessage> get_message(std::int64_t id) = 0;
  // Newest first.
  virtual std::vector<QueueMessage> list_messages(std::string_view queue, std::uint32_t limit,
                                                  bool include_archived) = 0;
  // Dead letters: dead_at set, or (not archived, vt <= now, read_ct >= max_read_ct).
  virtual std::vector<QueueMessage> dead_letters(std::optional<std::string_view> queue,
                                                 TimePoint now, std::int32_t max_read_ct) = 0;
  // dead letter -> fresh (read_ct = 0, vt = now, dead_at = NULL, consumer NULL).
  virtual bool replay_dead_letter(std::int64_t id, TimePoint now, std::int32_t max_read_ct) = 0;

  // ---- workers ------------------------------------------------------------------------
  // queue may be empty for workers not bound to a queue (admin). Status ready.
  virtual WorkerInfo register_worker(std::string_view name, WorkerKind kind,
                                     std::optional<std::string_view> queue,
                                     std::string_view hostname, std::int64_t pid,
                                     TimePoint now) = 0;
  virtual std::optional<WorkerInfo> get_worker(std::int64_t id) = 0;
  virtual std::vector<WorkerInfo> list_workers(std::optional<std::string_view> queue) = 0;
  // Sets status = to iff status is one of `from`; shutdown_at = now when to == stopped.
  virtual StatusChange change_worker_status(std::int64_t id, const std::vector<WorkerStatus>& from,
                                            WorkerStatus to, TimePoint now) = 0;
  // False if no such worker.
  virtual bool heartbeat(std::int64_t id, TimePoint now) = 0;
  // Messages whose lease the worker holds now (vt > now, not archived/dead).
  virtual std::vector<QueueMessage> leased_messages(std::int64_t worker, TimePoint now) = 0;
  // Releases them all (vt = now, consumer NULL). Returns how many.
  virtual std::uint64_t release_worker_messages(std::int64_t worker, TimePoint now) = 0;
  // ConflictError unless stopped and unreferenced by any message; WorkerNotFoundError.
  virtual void delete_worker(std::int64_t id) = 0;
  // Workers of `queue` not stopped whose heartbeat_at < heartbeat_before: release their
  // messages (vt = now) and mark them stopped. Returns messages released.
  virtual std::uint64_t reclaim_zombies(std::string_view queue, TimePoint heartbeat_before,
                                        TimePoint now) = 0;
  // Deletes stopped workers with heartbeat_at < heartbeat_before and no message referring to
  // them. Returns how many.
  virtual std::uint64_t purge_workers(TimePoint heartbeat_before) = 0;

  // ---- metrics ------------------------------------------------------------------------
  virtual QueueMetrics queue_metrics(std::string_view queue, TimePoint now,
                                     std::int32_t max_read_ct) = 0;
  virtual std::vector<QueueMetrics> all_queue_metrics(TimePoint now, std::int32_t max_read_ct) = 0;
  virtual SystemStats system_stats(TimePoint now, std::int32_t max_read_ct) = 0;
  virtual WorkerStats worker_stats(std::string_view queue, TimePoint now) = 0;

  // ---- workflows ----------------------------------------------------------------------
  // (Defaults throw until a backend implements them, so backends can adopt them one by one.)
  // The engine owns the run state machine and the step protocol; these are its atomic
  // storage operations. JSON values arrive serialised (validated) and return parsed.
  // Registers workflow `name` and a queue of the same name (each created if missing).
  // Idempotent: returns the existing record.
  virtual WorkflowRecord create_workflow(std::string_view /*name*/, TimePoint /*now*/) {
    unsupported("workflows");
  }
  virtual std::optional<WorkflowRecord> find_workflow(std::string_view /*name*/) {
    unsupported("workflows");
  }
  virtual std::vector<WorkflowRecord> list_workflows() { unsupported("workflows"); }
  // In ONE transaction: a QUEUED run row and its message on the workflow's queue with
  // payload <input> (run.message_id = message id: the run is found from the message).
  // ValidationError naming the workflow if it is not registered.
  virtual TriggeredRun trigger_run(std::string_view /*workflow*/, const std::string& /*input*/,
                                   TimePoint /*now*/) {
    unsupported("workflows");
  }
  // Owner-only like release(), for a delivery that did not fail (a workflow run paused or
  // waiting for a step retry): vt = visible_at, consumer NULL, and the delivery is not
  // counted (read_ct -= 1, never below 0), so it never dead-letters the message.
  virtual std::vector<bool> defer(const std::vector<std::int64_t>& /*ids*/, std::int64_t /*worker*/,
                                  TimePoint /*visible_at*/, TimePoint /*now*/) {
    unsupported("workflows");
  }
  virtual std::optional<RunRecord> get_run(std::int64_t /*run_id*/) { unsupported("workflows"); }
  virtual std::optional<RunRecord> find_run_by_message(std::int64_t /*message_id*/) {
    unsupported("workflows");
  }
  virtual std::vector<RunRecord> list_runs(const RunFilter& /*filter*/) {
    unsupported("workflows");
  }
  // QUEUED|PAUSED|RUNNING -> RUNNING (started = true); CANCELLING -> CANCELLED (started =
  // false); a finished run is returned unchanged (started = false).
  virtual RunStart start_run(std::int64_t /*run_id*/, TimePoint /*now*/) {
    unsupported("workflows");
  }
  // RUNNING|CANCELLING -> `status` (SUCCESS, ERROR or CANCELLED) with output / error.
  // False (nothing changed) if the run is in another state.
  virtual bool finish_run(std::int64_t /*run_id*/, WorkflowStatus /*status*/,
                          const std::optional<std::string>& /*output*/,
                          const std::optional<std::string>& /*error*/, TimePoint /*now*/) {
    unsupported("workflows");
  }
  // QUEUED|RUNNING|PAUSED -> PAUSED, storing `error` when given (Run::pause_run records
  // {"message", "resume_after"} there). False if the run is finished or being cancelled.
  virtual bool pause_run(std::int64_t /*run_id*/, const std::optional<std::string>& /*error*/,
                         TimePoint /*now*/) {
    unsupported("workflows");
  }
  // QUEUED|RUNNING|PAUSED -> CANCELLING; if the run's message is not leased now, it is made
  // visible now (vt = now) so a worker observes the cancellation promptly. False (nothing
  // changed) for CANCELLING or finished runs; nullopt for an unknown run id.
  virtual std::optional<bool> cancel_run(std::int64_t /*run_id*/, TimePoint /*now*/) {
    unsupported("workflows");
  }

  // What a step boundary must know, in one read: the run's status (nullopt: no such run) and
  // whether `worker` holds a valid lease on `message_id` (not archived or dead, consumer ==
  // worker, vt > now). The default composes get_run and get_message.
  struct RunBoundary {
    std::optional<WorkflowStatus> status;
    bool lease_held = false;
  };
  virtual RunBoundary run_boundary(std::int64_t run_id, std::int64_t message_id,
                                   std::int64_t worker, TimePoint now) {
    RunBoundary b;
    if (auto run = get_run(run_id)) b.status = run->status;
    if (auto msg = get_message(message_id)) {
      b.lease_held =
          !msg->archived_at && !msg->dead_at && msg->consumer_worker_id == worker && msg->vt > now;
    }
    return b;
  }

  // Steps (unique by run and name).
  virtual std::optional<StepRecord> get_step(std::int64_t /*run_id*/, std::string_view /*name*/) {
    unsupported("workflows");
  }
  // Inserts step `name` as RUNNING if absent; returns the row either way.
  virtual StepRecord begin_step(std::int64_t /*run_id*/, std::string_view /*name*/,
                                TimePoint /*now*/) {
    unsupported("workflows");
  }
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
  virtual bool update_step(std::int64_t /*run_id*/, std::string_view /*name*/,
                           const StepUpdate& /*update*/, TimePoint /*now*/) {
    unsupported("workflows");
  }
  // Oldest first (creation order).
  virtual std::vector<StepRecord> list_steps(std::int64_t /*run_id*/) { unsupported("workflows"); }

 protected:
  [[noreturn]] void unsupported(const char* what) const {
    throw InternalError(std::string(name()) + " backend does not support " + what + " yet");
  }
};

}  // namespace pgqrs::backend
