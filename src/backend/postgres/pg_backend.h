// PostgresBackend: the Backend implementation on libpq (postgresql:// DSNs).
//
// How it behaves (details in docs/postgres.md):
//  - All tables live in config.schema, which must exist (checked when the backend opens:
//    ConfigError "schema 'x' does not exist"). The schema name is validated by Config and
//    quoted with PQescapeIdentifier; it is the only text ever put into SQL.
//  - Connections come from a pool of at most config.max_connections (plus one dedicated
//    LISTEN connection once something subscribes). connection_timeout_seconds bounds
//    opening a connection, waiting for a free one, and retrying an operation.
//  - Every queue operation is ONE statement (CTEs where it has several steps) that commits
//    on its own: one round trip, prepared once per connection, binary parameters and
//    results. A batch enqueue of any size is one INSERT ... SELECT FROM unnest($n::jsonb[]).
//    Dequeue leases with FOR UPDATE SKIP LOCKED, so concurrent consumers (threads or
//    processes) never block each other or receive the same message.
//  - Every time comes from the caller (timestamptz parameters); SQL never reads now().
//  - An enqueue of messages visible now (and a release making messages visible now) also
//    runs pg_notify(channel, queue) in the same statement; the listener (listener.h) turns
//    that into subscribe() callbacks in every process.
//  - Failures are classified by executor.h: retried when nothing can have been applied,
//    ConnectionError with outcome_unknown() when a commit's outcome is unknown.
//
// Thread-safe: one instance may be used from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/postgres/conninfo.h"
#include "backend/postgres/executor.h"
#include "backend/postgres/limited_queues.h"
#include "backend/postgres/message_sql.h"
#include "backend/postgres/notifier.h"
#include "backend/postgres/pool.h"
#include "backend/postgres/sql_text.h"
#include "pgqrs/config.h"

namespace pgqrs::pg {

class Listener;

class PostgresBackend final : public backend::Backend {
 public:
  // Opens one connection at once and checks the schema exists: ConfigError for a bad DSN,
  // wrong credentials, an unknown database or a missing schema; ConnectionError when the
  // server cannot be reached within connection_timeout_seconds.
  PostgresBackend(const Config& config, const backend::Dsn& dsn);
  ~PostgresBackend() override;
  PostgresBackend(const PostgresBackend&) = delete;
  PostgresBackend& operator=(const PostgresBackend&) = delete;

  std::string_view name() const override { return "postgres"; }

  // ---- wake-ups (listener.cc) ----
  std::unique_ptr<backend::Subscription> subscribe(std::string_view queue,
                                                   std::function<void()> on_activity) override;

  // ---- user transactions (user_transaction.cc) ----
  std::unique_ptr<backend::UserTransaction> begin_user_transaction() override;

  // ---- schema and queues (pg_backend.cc) ----
  void install() override;
  void install_to(std::int32_t version) override;
  std::optional<std::int32_t> schema_version() override;
  void uninstall() override;
  QueueInfo create_queue(std::string_view name, TimePoint now,
                         const QueueOptions& options = {}) override;
  // (queue options: *_flow.cc)
  QueueInfo update_queue_options(std::string_view name, const EditOptions& edit) override;
  std::optional<QueueInfo> find_queue(std::string_view name) override;
  std::vector<QueueInfo> list_queues() override;
  void delete_queue(std::string_view name) override;
  std::uint64_t purge_queue(std::string_view name) override;

  // ---- messages (pg_backend_messages.cc) ----
  std::vector<std::int64_t> enqueue(const backend::EnqueueParams& p) override;
  std::vector<QueueMessage> dequeue(const backend::DequeueParams& p) override;
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

  // ---- owner-only operations (pg_backend_leases.cc) ----
  std::vector<bool> archive(const std::vector<std::int64_t>& ids, std::int64_t worker,
                            TimePoint now) override;
  std::vector<bool> remove(const std::vector<std::int64_t>& ids, std::int64_t worker,
                           TimePoint now) override;
  std::vector<bool> set_lease(const std::vector<std::int64_t>& ids, std::int64_t worker,
                              TimePoint new_vt, TimePoint now) override;
  std::vector<bool> release(const std::vector<std::int64_t>& ids, std::int64_t worker,
                            TimePoint visible_at, TimePoint now, std::int32_t max_read_ct) override;

  // ---- workflows (pg_backend_workflows.cc; defer in pg_backend_leases.cc) ----
  WorkflowRecord create_workflow(std::string_view name, TimePoint now) override;
  std::optional<WorkflowRecord> find_workflow(std::string_view name) override;
  std::vector<WorkflowRecord> list_workflows() override;
  backend::TriggeredRun trigger_run(std::string_view workflow, const std::string& input,
                                    TimePoint now, const MessageOptions& flow = {},
                                    const backend::MessageTrace& trace = {}) override;
  std::vector<bool> defer(const std::vector<std::int64_t>& ids, std::int64_t worker,
                          TimePoint visible_at, TimePoint now) override;
  std::optional<RunRecord> get_run(std::int64_t run_id) override;
  std::optional<RunRecord> find_run_by_message(std::int64_t message_id) override;
  std::vector<RunRecord> list_runs(const backend::RunFilter& filter) override;
  backend::RunStart start_run(std::int64_t run_id, TimePoint now) override;
  RunBoundary run_boundary(std::int64_t run_id, std::int64_t message_id, std::int64_t worker,
                           TimePoint now) override;
  bool finish_run(std::int64_t run_id, WorkflowStatus status,
                  const std::optional<std::string>& output, const std::optional<std::string>& error,
                  TimePoint now) override;
  bool pause_run(std::int64_t run_id, const std::optional<std::string>& error,
                 TimePoint now) override;
  std::optional<bool> cancel_run(std::int64_t run_id, TimePoint now) override;
  std::optional<bool> resume_run_now(std::int64_t run_id, TimePoint now) override;
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

  // ---- coordination (pg_backend_coordination.cc; contracts in capabilities/coordination.h) ----
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

  // ---- workers (pg_backend_workers.cc) ----
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

  // ---- metrics (pg_backend_metrics.cc) ----
  QueueMetrics queue_metrics(std::string_view queue, TimePoint now,
                             std::int32_t max_read_ct) override;
  std::vector<QueueMetrics> all_queue_metrics(TimePoint now, std::int32_t max_read_ct) override;
  SystemStats system_stats(TimePoint now, std::int32_t max_read_ct) override;
  WorkerStats worker_stats(std::string_view queue, TimePoint now) override;
  // activity (pg_backend_activity.cc)
  ActivityMetrics activity_metrics(TimePoint now) override;

  // ---- schedules (pg_backend_schedules.cc; contracts in capabilities/schedules.h) ----
  ScheduleRecord create_schedule(const backend::NewSchedule& s, TimePoint now) override;
  std::optional<ScheduleRecord> find_schedule(std::string_view name) override;
  std::vector<ScheduleRecord> list_schedules() override;
  std::optional<ScheduleRecord> set_schedule_state(std::string_view name, bool paused,
                                                   TimePoint next_fire_at, TimePoint now) override;
  bool delete_schedule(std::string_view name) override;
  std::vector<ScheduleRecord> due_schedules(TimePoint now, std::uint32_t limit) override;
  bool fire_schedule(std::int64_t id, TimePoint expected, const std::vector<TimePoint>& ticks,
                     TimePoint next, TimePoint now) override;

  // ---- retention (pg_backend_retention.cc; contracts in capabilities/retention.h) ----
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

  // ---- for the libpq adapter, the listener and tests ----
  const ConnectOptions& connect_options() const { return options_; }
  const std::string& schema() const { return schema_; }
  // The NOTIFY channel of this schema ("pgqrs_<schema>", shortened to fit 63 bytes).
  const std::string& channel() const { return channel_; }
  // pg_notify(channel(), payload) for each of `payloads`, in one statement and a transaction
  // of its own that writes nothing. Retried like a read within `budget`; throws like one.
  void notify(const std::set<std::string>& payloads, std::chrono::milliseconds budget);
  StatementCache& statements() { return sql_; }
  Executor& executor() { return exec_; }
  // Listener state, for tests and diagnostics: "off" (pgqrs_listen=false), "idle" (nothing
  // subscribed yet), "connecting", "listening", "unusable" (LISTEN does not deliver, e.g.
  // behind a transaction pooler: polling only).
  std::string listener_state();

 private:
  // Throws QueueNotFoundError for `name` (message used by every operation).
  [[noreturn]] static void queue_not_found(std::string_view name);
  // archive_and_dequeue() of a queue with limits (flow_lease.cc): one call of
  // pgqrs_lease_limited, which archives `ids`, locks the queue row, counts what is held and
  // leases within the limits. Records in limited_ whether the queue still has limits.
  ArchiveAndLease dequeue_limited(const std::vector<std::int64_t>& ids,
                                  const backend::DequeueParams& p);
  [[noreturn]] static void worker_not_found(std::int64_t id);
  // Tells the listeners of `queue` that messages became visible, once the write that made
  // them so has committed (NotifyIn::kCaller): hands it to the notifier thread (notifier.h).
  void notify_after_commit(const std::string& queue) { notifier_.post(queue); }
  // trigger_run() up to its commit, without the notification (NotifyIn::kCaller).
  backend::TriggeredRun trigger_committed(std::string_view workflow, const std::string& input,
                                          TimePoint now, const MessageOptions& flow,
                                          const backend::MessageTrace& trace);
  // trigger_run()'s statement on the caller's session (inside its transaction or alone);
  // `notify`: where the wake-up of the run's queue goes (message_sql.h).
  backend::TriggeredRun trigger_in(Session& s, NotifyIn notify, std::string_view workflow,
                                   const std::string& input, TimePoint now,
                                   const MessageOptions& flow = {},
                                   const backend::MessageTrace& trace = {});

  const std::string schema_;
  ConnectOptions options_;
  std::string channel_;
  // config.app_version (nullopt: unversioned): recorded on the runs this store triggers and
  // the workers it registers; start_run starts only runs of this version (or unversioned).
  std::optional<std::string> app_version_;
  Pool pool_;
  Executor exec_;
  StatementCache sql_;
  LimitedQueues limited_;
  std::mutex listener_mu_;
  std::unique_ptr<Listener> listener_;  // GUARDED_BY(listener_mu_); started on first subscribe
  Notifier notifier_{*this};            // last: destroyed (sending what is pending) before the pool
};

// PQescapeIdentifier on a live connection: "name" with quotes doubled.
std::string quote_identifier(Connection& conn, std::string_view name);

}  // namespace pgqrs::pg
