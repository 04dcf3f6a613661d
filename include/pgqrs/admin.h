// Admin: schema management, queue management, dead letters, workers and metrics.
//
// Obtained with pgqrs::admin(store). Thread-safe; holds only a Store handle.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "pgqrs/activity.h"
#include "pgqrs/records.h"
#include "pgqrs/store.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

// Result of Admin::verify().
struct SchemaInfo {
  std::int32_t version = 0;           // installed schema version
  std::int32_t expected_version = 0;  // version this build of pgqrs installs
};

class Admin {
 public:
  explicit Admin(Store store) : store_(std::move(store)) {}

  // Creates or upgrades the schema. Idempotent; runs only the migrations not yet applied.
  void install() const;
  // Checks the schema is installed, current, and has every table. Throws ConfigError
  // ("not installed" / "version N, expected M" / "missing table T") otherwise.
  SchemaInfo verify() const;
  // Drops everything pgqrs created. Idempotent.
  void uninstall() const;

  QueueInfo create_queue(std::string_view name) const;  // QueueAlreadyExistsError
  // With flow-control options (pgqrs/queue_options.h); ValidationError naming the bad field
  // before anything is stored.
  QueueInfo create_queue(std::string_view name, const QueueOptions& options) const;
  // Changes a queue's options atomically: `edit` gets the stored options and changes them in
  // place, while the queue row is locked; the result is validated and stored. Nothing
  // changes if `edit` throws or the result is invalid (ValidationError naming the field).
  // QueueNotFoundError. Takes effect for dequeues that start after it returns.
  //   admin.update_queue("emails", [](pgqrs::QueueOptions& o) { o.concurrency = 5; });
  QueueInfo update_queue(std::string_view name,
                         const std::function<void(QueueOptions&)>& edit) const;
  QueueInfo get_queue(std::string_view name) const;  // QueueNotFoundError
  std::vector<QueueInfo> list_queues() const;
  // Refused (ConflictError) while the queue has messages or live workers; purge first.
  void delete_queue(std::string_view name) const;
  // Deletes all messages of the queue (pending, leased, archived, dead) and returns how many.
  std::uint64_t purge_queue(std::string_view name) const;

  // Messages of a queue, newest first (by id), at most `limit`; archived ones included when
  // asked. `before_id` pages: only messages with id < before_id (pass the smallest id of the
  // previous page; ValidationError unless positive). One index range scan per page.
  std::vector<QueueMessage> list_messages(
      std::string_view queue, std::uint32_t limit = 100, bool include_archived = false,
      std::optional<std::int64_t> before_id = std::nullopt) const;
  QueueMessage get_message(std::int64_t id) const;  // MessageNotFoundError

  // Dead-lettered messages (of one queue, or of all queues), newest first (by id): all of
  // them, or at most `limit` (ValidationError if 0); `before_id` pages as in list_messages.
  std::vector<QueueMessage> dlq(std::optional<std::string_view> queue = std::nullopt,
                                std::optional<std::uint32_t> limit = std::nullopt,
                                std::optional<std::int64_t> before_id = std::nullopt) const;
  // Makes a dead letter deliverable again (read_ct = 0, visible now). False if `id` is not a
  // dead letter.
  bool replay_dlq(std::int64_t id) const;

  QueueMetrics queue_metrics(std::string_view queue) const;
  std::vector<QueueMetrics> all_queues_metrics() const;
  SystemStats system_stats() const;
  // Workers by queue and state, runs by workflow and status, step retries by workflow
  // (pgqrs/activity.h); bounded queries, cheap enough to scrape every few seconds.
  ActivityMetrics activity_metrics() const;

  // Workers.
  std::vector<WorkerInfo> list_workers(std::optional<std::string_view> queue = std::nullopt) const;
  WorkerInfo get_worker(std::int64_t id) const;                             // WorkerNotFoundError
  std::vector<QueueMessage> worker_messages(std::int64_t worker_id) const;  // leased now
  // Releases every message the worker leases (visible now). Returns how many.
  std::uint64_t release_worker_messages(std::int64_t worker_id) const;
  WorkerInfo suspend_worker(std::int64_t id) const;   // ready|polling|interrupted -> suspended
  WorkerInfo resume_worker(std::int64_t id) const;    // suspended -> ready
  WorkerInfo shutdown_worker(std::int64_t id) const;  // suspended -> stopped
  WorkerInfo heartbeat_worker(std::int64_t id) const;
  // Deletes a stopped worker no message references; ConflictError otherwise.
  void delete_worker(std::int64_t id) const;
  WorkerStats worker_stats(std::string_view queue) const;
  // Every live worker with healthy = heartbeat within `timeout`.
  std::vector<WorkerHealth> worker_health(std::chrono::seconds timeout) const;

  // Zombie reclaim: workers of `queue` whose heartbeat is older than `older_than` have their
  // leased messages released and are marked stopped. Returns the number of messages released.
  std::uint64_t reclaim_messages(std::string_view queue,
                                 std::chrono::seconds older_than = std::chrono::seconds(60)) const;
  // Deletes stopped workers whose heartbeat is older than `older_than` and that no message
  // references. Returns how many were deleted.
  std::uint64_t purge_old_workers(std::chrono::seconds older_than) const;

  // Workflows and their records.
  std::vector<WorkflowRecord> list_workflows() const;
  std::vector<RunRecord> list_runs(const RunFilter& filter = {}) const;
  RunRecord get_run(std::int64_t run_id) const;  // ValidationError if unknown
  std::vector<StepRecord> run_steps(std::int64_t run_id) const;
  // QUEUED|RUNNING|PAUSED -> CANCELLING (a worker then moves it to CANCELLED); false for a
  // run that is already cancelling or finished.
  bool cancel_run(std::int64_t run_id) const;
  // "Resume now": ends a PAUSED run's wait at once. A durable sleep is over, a recv returns
  // nothing (its timeout came), and the run's message becomes visible so a worker continues
  // it; a run waiting for children re-checks them and waits on. False (nothing changed) for
  // a run that is not PAUSED (a step's retry back-off keeps its run RUNNING: not resumed);
  // ValidationError if unknown.
  bool resume_run(std::int64_t run_id) const;

  const Store& store() const { return store_; }

 private:
  Store store_;
};

inline Admin admin(const Store& store) { return Admin(store); }

}  // namespace pgqrs
