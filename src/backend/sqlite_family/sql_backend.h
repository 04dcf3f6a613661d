// SqlFamilyBackend: the Backend implementation shared by every SQLite-dialect engine
// (libsqlite3 today, Turso next). It owns all the SQL and row mapping; a Driver supplies
// connections (ARCHITECTURE.md rule 2).
//
// How it behaves (details in docs/sqlite.md):
//  - Every operation borrows one pooled connection and runs as one transaction: writes in
//    BEGIN IMMEDIATE, reads in a deferred transaction. Leases and acknowledgements (dequeue,
//    archive_and_dequeue and the owner-only operations) of concurrent threads share one
//    transaction, each in its own savepoint (group commit, executor.h). Lock contention with other
//    threads or processes is retried within connection_timeout_seconds, then TimeoutError
//    (executor.h). Correctness across processes comes from SQLite's locking, not from in-process
//    mutexes.
//  - The pool holds up to config.max_connections connections. The caller decides the size
//    for special databases (":memory:" must use exactly one, see make_sqlite_backend()).
//  - Times are INTEGER microseconds since the Unix epoch; values are floored to
//    microseconds, so returned times equal what a later read returns.
//
// Thread-safe: one instance may be used from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "backend/sqlite_family/change_watcher.h"
#include "backend/sqlite_family/connection.h"
#include "backend/sqlite_family/executor.h"
#include "backend/sqlite_family/pool.h"
#include "pgqrs/config.h"

namespace pgqrs::sqlite_family {

// Not final: a store that keeps the same database somewhere else too (S3) derives from it and
// runs every operation through an OperationGate; see s3/s3_backend.cc.
class SqlFamilyBackend : public backend::Backend {
 public:
  // What a deriving store changes: its name (errors, system_stats) and the gate every
  // operation runs through (null: none; it must outlive this object's use).
  struct Decoration {
    std::string name;  // empty: the driver's ("sqlite", "turso")
    OperationGate* gate = nullptr;
  };
  // Uses config.max_connections (at least 1) and config.connection_timeout_seconds. Opens
  // one connection at once, so an unreachable or invalid database fails here
  // (ConnectionError naming the path, or TimeoutError if it stays locked).
  SqlFamilyBackend(std::unique_ptr<Driver> driver, const Config& config);
  SqlFamilyBackend(std::unique_ptr<Driver> driver, const Config& config, Decoration decoration);
  ~SqlFamilyBackend() override;
  SqlFamilyBackend(const SqlFamilyBackend&) = delete;
  SqlFamilyBackend& operator=(const SqlFamilyBackend&) = delete;

  std::string_view name() const override { return name_; }

  // Closes every pooled connection; the next operation opens new ones. For a gate that
  // replaces the database file: call it while no operation is running (e.g. holding the
  // gate exclusively), and before the file changes.
  void close_connections() { pool_.drop_idle(); }

  // Cross-process wake-ups (change_watcher.h), for a file database this store shares with
  // other connections; null for ":memory:" and for a gated store (S3: its working copy is
  // private to this store).
  std::unique_ptr<backend::Subscription> subscribe(std::string_view queue,
                                                   std::function<void()> on_activity) override;

  // ---- schema (sql_backend.cc) ----
  void install() override;
  void install_to(std::int32_t version) override;
  std::optional<std::int32_t> schema_version() override;
  void uninstall() override;

  // ---- queues (sql_backend.cc) ----
  QueueInfo create_queue(std::string_view name, TimePoint now,
                         const QueueOptions& options = {}) override;
  // (queue options: *_flow.cc)
  QueueInfo update_queue_options(std::string_view name, const EditOptions& edit) override;
  std::optional<QueueInfo> find_queue(std::string_view name) override;
  std::vector<QueueInfo> list_queues() override;
  void delete_queue(std::string_view name) override;
  std::uint64_t purge_queue(std::string_view name) override;

  // ---- messages (sql_backend_messages.cc) ----
  std::vector<std::int64_t> enqueue(const backend::EnqueueParams& p) override;
  std::vector<QueueMessage> dequeue(const backend::DequeueParams& p) override;
  // archive + dequeue in one write transaction (sql_backend_leases.cc).
  ArchiveAndLease archive_and_dequeue(const std::vector<std::int64_t>& ids,
                                      const backend::DequeueParams& p) override;
  std::optional<QueueMessage> get_message(std::int64_t id) override;
  std::vector<QueueMessage> list_messages(
      std::string_view queue, std::uint32_t limit, bool include_archived,
      std::optional<std::int64_t> before_id = std::nullopt) override;
  std::vector<QueueMessage> dead_letters(
      std::optional<std::string_view> queue, TimePoint now, std::int32_t max_read_ct,
      std::optional<std::uint32_t> limit = std::nullopt,
      std::optional<std::int64_t> before_id = std::nullopt) override;
  bool replay_dead_letter(std::int64_t id, TimePoint now, std::int32_t max_read_ct) override;

  // ---- owner-only operations (sql_backend_leases.cc) ----
  std::vector<bool> archive(const std::vector<std::int64_t>& ids, std::int64_t worker,
                            TimePoint now) override;
  std::vector<bool> remove(const std::vector<std::int64_t>& ids, std::int64_t worker,
                           TimePoint now) override;
  std::vector<bool> set_lease(const std::vector<std::int64_t>& ids, std::int64_t worker,
                              TimePoint new_vt, TimePoint now) override;
  std::vector<bool> release(const std::vector<std::int64_t>& ids, std::int64_t worker,
                            TimePoint visible_at, TimePoint now, std::int32_t max_read_ct) override;
  std::vector<bool> defer(const std::vector<std::int64_t>& ids, std::int64_t worker,
                          TimePoint visible_at, TimePoint now) override;

  // ---- workers (sql_backend_workers.cc) ----
  WorkerInfo register_worker(std::string_view name, WorkerKind kind,
                             std::optional<std::string_view> queue, std::string_view hostname,
                             std::int64_t pid, TimePoint now) override;
  std::optional<WorkerInfo> get_worker(std::int64_t id) override;
  std::vector<WorkerInfo> list_workers(std::optional<std::string_view> queue) override;
  backend::StatusChange change_worker_status(std::int64_t id, const std::vector<WorkerStatus>& from,
                                             WorkerStatus to, TimePoint now) override;
  bool heartbeat(std::int64_t id, TimePoint now) override;
  std::vector<QueueMessage> leased_messages(std::int64_t worker, TimePoint now) override;
  std::uint64_t release_worker_messages(std::int64_t worker, TimePoint now) override;
  void delete_worker(std::int64_t id) override;
  std::uint64_t reclaim_zombies(std::string_view queue, TimePoint heartbeat_before,
                                TimePoint now) override;
  std::uint64_t purge_workers(TimePoint heartbeat_before) override;

  // ---- metrics (sql_backend_metrics.cc) ----
  QueueMetrics queue_metrics(std::string_view queue, TimePoint now,
                             std::int32_t max_read_ct) override;
  std::vector<QueueMetrics> all_queue_metrics(TimePoint now, std::int32_t max_read_ct) override;
  SystemStats system_stats(TimePoint now, std::int32_t max_read_ct) override;
  WorkerStats worker_stats(std::string_view queue, TimePoint now) override;
  // activity (sql_backend_activity.cc)
  ActivityMetrics activity_metrics(TimePoint now) override;

  // ---- workflows (sql_backend_workflows.cc; contracts in backend.h) ----
  WorkflowRecord create_workflow(std::string_view name, TimePoint now) override;
  std::optional<WorkflowRecord> find_workflow(std::string_view name) override;
  std::vector<WorkflowRecord> list_workflows() override;
  backend::TriggeredRun trigger_run(std::string_view workflow, const std::string& input,
                                    TimePoint now, const MessageOptions& flow = {},
                                    const backend::MessageTrace& trace = {}) override;
  std::optional<RunRecord> get_run(std::int64_t run_id) override;
  std::optional<RunRecord> find_run_by_message(std::int64_t message_id) override;
  std::vector<RunRecord> list_runs(const backend::RunFilter& filter) override;
  backend::RunStart start_run(std::int64_t run_id, TimePoint now) override;
  bool finish_run(std::int64_t run_id, WorkflowStatus status,
                  const std::optional<std::string>& output, const std::optional<std::string>& error,
                  TimePoint now) override;
  bool pause_run(std::int64_t run_id, const std::optional<std::string>& error,
                 TimePoint now) override;
  std::optional<bool> cancel_run(std::int64_t run_id, TimePoint now) override;
  std::optional<bool> resume_run_now(std::int64_t run_id, TimePoint now) override;
  RunBoundary run_boundary(std::int64_t run_id, std::int64_t message_id, std::int64_t worker,
                           TimePoint now) override;
  std::optional<StepRecord> get_step(std::int64_t run_id, std::string_view name) override;
  StepRecord begin_step(std::int64_t run_id, std::string_view name, TimePoint now) override;
  BegunStep begin_step_at_boundary(std::int64_t run_id, std::string_view name,
                                   std::int64_t message_id, std::int64_t worker,
                                   TimePoint now) override;
  bool update_step(std::int64_t run_id, std::string_view name, const StepUpdate& update,
                   TimePoint now) override;
  std::vector<StepRecord> list_steps(std::int64_t run_id) override;
  // (fork: *_fork.cc)
  std::optional<backend::TriggeredRun> fork_run(std::int64_t source_run_id,
                                                const std::vector<std::string>& copy_steps,
                                                TimePoint now) override;
  // (app versions: *_versions.cc)
  std::vector<StrandedRun> stranded_runs(TimePoint heartbeat_after, std::uint32_t limit) override;
  std::uint64_t migrate_runs(const std::optional<std::string>& from,
                             const std::optional<std::string>& to,
                             const std::optional<std::string>& workflow, TimePoint now) override;

  // ---- coordination (sql_backend_coordination.cc; contracts in capabilities/coordination.h) ----
  std::optional<backend::SentToRun> send_to_run(std::int64_t run_id, std::string_view topic,
                                                const std::string& payload,
                                                const std::optional<std::string>& send_key,
                                                TimePoint now) override;
  std::optional<RunMessage> receive_run_message(std::int64_t run_id, std::string_view topic,
                                                std::string_view step, TimePoint now) override;
  std::vector<RunMessage> list_run_messages(std::int64_t run_id, std::uint32_t limit) override;
  bool write_run_event(std::int64_t run_id, RunEventKind kind, std::string_view key,
                       const std::optional<std::string>& value, std::string_view write_key,
                       TimePoint now) override;
  std::vector<RunEvent> read_run_events(std::int64_t run_id, const std::optional<std::string>& key,
                                        std::int64_t after_id, std::uint32_t limit) override;
  std::optional<RunEvent> latest_run_event(std::int64_t run_id, std::string_view key) override;
  std::optional<backend::TriggeredRun> start_child_run(std::int64_t parent_run_id,
                                                       std::string_view parent_step,
                                                       std::string_view workflow,
                                                       const std::string& input, TimePoint now,
                                                       const backend::MessageTrace& trace) override;
  std::vector<RunRecord> child_runs(std::int64_t parent_run_id) override;
  std::optional<std::int64_t> parent_run(std::int64_t run_id) override;
  bool defer_waiting_run(std::int64_t message_id, std::int64_t worker, TimePoint visible_at,
                         TimePoint now, const backend::RunWait& wait) override;

  // ---- schedules (sql_backend_schedules.cc; contracts in capabilities/schedules.h) ----
  ScheduleRecord create_schedule(const backend::NewSchedule& s, TimePoint now) override;
  std::optional<ScheduleRecord> find_schedule(std::string_view name) override;
  std::vector<ScheduleRecord> list_schedules() override;
  std::optional<ScheduleRecord> set_schedule_state(std::string_view name, bool paused,
                                                   TimePoint next_fire_at, TimePoint now) override;
  bool delete_schedule(std::string_view name) override;
  std::vector<ScheduleRecord> due_schedules(TimePoint now, std::uint32_t limit) override;
  bool fire_schedule(std::int64_t id, TimePoint expected, const std::vector<TimePoint>& ticks,
                     TimePoint next, TimePoint now) override;

  // ---- retention (sql_backend_retention.cc; contracts in capabilities/retention.h) ----
  std::uint64_t delete_old(backend::PruneKind kind, std::string_view queue, TimePoint before,
                           TimePoint now, std::uint32_t limit) override;
  std::uint64_t count_old(backend::PruneKind kind, std::string_view queue, TimePoint before,
                          TimePoint now) override;
  bool set_workflow_retention(std::string_view workflow,
                              std::optional<std::int64_t> retain_finished_us) override;
  std::optional<std::int64_t> workflow_retention(std::string_view workflow) override;
  bool acquire_lease(std::string_view name, std::string_view holder, TimePoint now,
                     TimePoint until) override;
  void release_lease(std::string_view name, std::string_view holder) override;

 private:
  friend struct SqlFamilyTestAccess;  // tests reach exec_ (group commit); defined by tests only

  // trigger_run()'s body, inside the caller's write transaction.
  backend::TriggeredRun trigger_in(Session& s, std::string_view workflow, const std::string& input,
                                   TimePoint now, const MessageOptions& flow = {},
                                   const backend::MessageTrace& trace = {});
  // The parent side of the end of run `run_id` with `status` (sql_backend_coordination.cc),
  // in the caller's write transaction: counts a waiting parent down and wakes it.
  void wake_parent_of_ended(Session& s, std::int64_t run_id, std::string_view status,
                            TimePoint now);
  // Runs one owner-only statement per id in one write transaction; true where it changed a
  // row. `bind` binds the statement's parameters for one id.
  template <class Bind>
  std::vector<bool> per_id(std::string_view op, std::string_view sql,
                           const std::vector<std::int64_t>& ids, Bind bind);
  // enqueue() of messages with flow fields (sql_backend_flow.cc), in the caller's write
  // transaction, on queue `queue_id` (checked).
  std::vector<std::int64_t> enqueue_flow(Session& s, std::int64_t queue_id,
                                         const backend::EnqueueParams& p);
  // dequeue()'s body, inside the caller's write transaction.
  std::vector<QueueMessage> lease_in(Session& s, const backend::DequeueParams& p);

  std::unique_ptr<Driver> driver_;  // outlives pool_ (declared first)
  std::string name_;
  std::int32_t max_read_ct_;  // config.max_read_ct: the dead-letter test of trigger_run
  // config.app_version (nullopt: unversioned): recorded on the runs this store triggers and
  // the workers it registers; start_run starts only runs of this version (or unversioned).
  std::optional<std::string> app_version_;
  bool gated_ = false;
  ConnectionPool pool_;
  Executor exec_;
  std::mutex watcher_mu_;
  std::unique_ptr<ChangeWatcher> watcher_;  // GUARDED_BY(watcher_mu_); uses exec_ (declared after)
};

}  // namespace pgqrs::sqlite_family
