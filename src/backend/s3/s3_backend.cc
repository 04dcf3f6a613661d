// S3Backend: every Backend operation forwarded to the SQLite cache through the Replica,
// as a read (refreshes from S3 first, durable mode) or a write (published before it returns,
// durable mode).
#include "backend/s3/s3_backend.h"

#include <algorithm>
#include <chrono>

#include "backend/s3/replica.h"

namespace pgqrs::backend {
namespace {

using s3::Replica;

// Credentials and endpoint from the environment; each request may take up to
// connection_timeout_seconds (connecting: at most 10 s of it).
s3::S3Settings settings_for(const Config& config, const Dsn& dsn) {
  s3::S3Settings s = s3::S3Settings::from_environment(dsn.bucket());
  s.request_timeout = std::chrono::seconds(config.connection_timeout_seconds);
  s.connect_timeout =
      std::min<std::chrono::milliseconds>(s.request_timeout, std::chrono::seconds(10));
  return s;
}

#define PGQRS_S3_READ(call) return replica_.read([&](Backend& b) { return b.call; })
#define PGQRS_S3_WRITE(call) return replica_.write([&](Backend& b) { return b.call; })

class S3Backend final : public Backend {
 public:
  S3Backend(const Config& config, const Dsn& dsn)
      : replica_(config, dsn, settings_for(config, dsn)) {}

  std::string_view name() const override { return "s3"; }
  ObjectSync* object_sync() override { return &replica_; }

  // ---- schema
  void install() override { replica_.install(); }
  std::optional<std::int32_t> schema_version() override { PGQRS_S3_READ(schema_version()); }
  void uninstall() override { replica_.uninstall(); }

  // ---- queues
  QueueInfo create_queue(std::string_view name, TimePoint now) override {
    PGQRS_S3_WRITE(create_queue(name, now));
  }
  std::optional<QueueInfo> find_queue(std::string_view name) override {
    PGQRS_S3_READ(find_queue(name));
  }
  std::vector<QueueInfo> list_queues() override { PGQRS_S3_READ(list_queues()); }
  void delete_queue(std::string_view name) override { PGQRS_S3_WRITE(delete_queue(name)); }
  std::uint64_t purge_queue(std::string_view name) override { PGQRS_S3_WRITE(purge_queue(name)); }

  // ---- messages
  std::vector<std::int64_t> enqueue(const EnqueueParams& p) override { PGQRS_S3_WRITE(enqueue(p)); }
  std::vector<QueueMessage> dequeue(const DequeueParams& p) override { PGQRS_S3_WRITE(dequeue(p)); }
  std::vector<bool> archive(const std::vector<std::int64_t>& ids, std::int64_t worker,
                            TimePoint now) override {
    PGQRS_S3_WRITE(archive(ids, worker, now));
  }
  std::vector<bool> remove(const std::vector<std::int64_t>& ids, std::int64_t worker,
                           TimePoint now) override {
    PGQRS_S3_WRITE(remove(ids, worker, now));
  }
  std::vector<bool> set_lease(const std::vector<std::int64_t>& ids, std::int64_t worker,
                              TimePoint new_vt, TimePoint now) override {
    PGQRS_S3_WRITE(set_lease(ids, worker, new_vt, now));
  }
  std::vector<bool> release(const std::vector<std::int64_t>& ids, std::int64_t worker,
                            TimePoint visible_at, TimePoint now,
                            std::int32_t max_read_ct) override {
    PGQRS_S3_WRITE(release(ids, worker, visible_at, now, max_read_ct));
  }
  // One local transaction (the SQLite family does both in one), hence one shared PUT.
  ArchiveAndLease archive_and_dequeue(const std::vector<std::int64_t>& ids,
                                      const DequeueParams& p) override {
    PGQRS_S3_WRITE(archive_and_dequeue(ids, p));
  }
  std::optional<QueueMessage> get_message(std::int64_t id) override {
    PGQRS_S3_READ(get_message(id));
  }
  std::vector<QueueMessage> list_messages(std::string_view queue, std::uint32_t limit,
                                          bool include_archived) override {
    PGQRS_S3_READ(list_messages(queue, limit, include_archived));
  }
  std::vector<QueueMessage> dead_letters(std::optional<std::string_view> queue, TimePoint now,
                                         std::int32_t max_read_ct) override {
    PGQRS_S3_READ(dead_letters(queue, now, max_read_ct));
  }
  bool replay_dead_letter(std::int64_t id, TimePoint now, std::int32_t max_read_ct) override {
    PGQRS_S3_WRITE(replay_dead_letter(id, now, max_read_ct));
  }

  // ---- workers
  WorkerInfo register_worker(std::string_view name, WorkerKind kind,
                             std::optional<std::string_view> queue, std::string_view hostname,
                             std::int64_t pid, TimePoint now) override {
    PGQRS_S3_WRITE(register_worker(name, kind, queue, hostname, pid, now));
  }
  std::optional<WorkerInfo> get_worker(std::int64_t id) override { PGQRS_S3_READ(get_worker(id)); }
  std::vector<WorkerInfo> list_workers(std::optional<std::string_view> queue) override {
    PGQRS_S3_READ(list_workers(queue));
  }
  StatusChange change_worker_status(std::int64_t id, const std::vector<WorkerStatus>& from,
                                    WorkerStatus to, TimePoint now) override {
    PGQRS_S3_WRITE(change_worker_status(id, from, to, now));
  }
  bool heartbeat(std::int64_t id, TimePoint now) override { PGQRS_S3_WRITE(heartbeat(id, now)); }
  std::vector<QueueMessage> leased_messages(std::int64_t worker, TimePoint now) override {
    PGQRS_S3_READ(leased_messages(worker, now));
  }
  std::uint64_t release_worker_messages(std::int64_t worker, TimePoint now) override {
    PGQRS_S3_WRITE(release_worker_messages(worker, now));
  }
  void delete_worker(std::int64_t id) override { PGQRS_S3_WRITE(delete_worker(id)); }
  std::uint64_t reclaim_zombies(std::string_view queue, TimePoint heartbeat_before,
                                TimePoint now) override {
    PGQRS_S3_WRITE(reclaim_zombies(queue, heartbeat_before, now));
  }
  std::uint64_t purge_workers(TimePoint heartbeat_before) override {
    PGQRS_S3_WRITE(purge_workers(heartbeat_before));
  }

  // ---- metrics
  QueueMetrics queue_metrics(std::string_view queue, TimePoint now,
                             std::int32_t max_read_ct) override {
    PGQRS_S3_READ(queue_metrics(queue, now, max_read_ct));
  }
  std::vector<QueueMetrics> all_queue_metrics(TimePoint now, std::int32_t max_read_ct) override {
    PGQRS_S3_READ(all_queue_metrics(now, max_read_ct));
  }
  SystemStats system_stats(TimePoint now, std::int32_t max_read_ct) override {
    SystemStats stats = replica_.read([&](Backend& b) { return b.system_stats(now, max_read_ct); });
    stats.backend = std::string(name());  // the cache's engine is sqlite; the store is s3
    return stats;
  }
  WorkerStats worker_stats(std::string_view queue, TimePoint now) override {
    PGQRS_S3_READ(worker_stats(queue, now));
  }

  // ---- workflows
  WorkflowRecord create_workflow(std::string_view name, TimePoint now) override {
    PGQRS_S3_WRITE(create_workflow(name, now));
  }
  std::optional<WorkflowRecord> find_workflow(std::string_view name) override {
    PGQRS_S3_READ(find_workflow(name));
  }
  std::vector<WorkflowRecord> list_workflows() override { PGQRS_S3_READ(list_workflows()); }
  TriggeredRun trigger_run(std::string_view workflow, const std::string& input,
                           TimePoint now) override {
    PGQRS_S3_WRITE(trigger_run(workflow, input, now));
  }
  std::vector<bool> defer(const std::vector<std::int64_t>& ids, std::int64_t worker,
                          TimePoint visible_at, TimePoint now) override {
    PGQRS_S3_WRITE(defer(ids, worker, visible_at, now));
  }
  std::optional<RunRecord> get_run(std::int64_t run_id) override { PGQRS_S3_READ(get_run(run_id)); }
  std::optional<RunRecord> find_run_by_message(std::int64_t message_id) override {
    PGQRS_S3_READ(find_run_by_message(message_id));
  }
  std::vector<RunRecord> list_runs(const RunFilter& filter) override {
    PGQRS_S3_READ(list_runs(filter));
  }
  RunStart start_run(std::int64_t run_id, TimePoint now) override {
    PGQRS_S3_WRITE(start_run(run_id, now));
  }
  bool finish_run(std::int64_t run_id, WorkflowStatus status,
                  const std::optional<std::string>& output, const std::optional<std::string>& error,
                  TimePoint now) override {
    PGQRS_S3_WRITE(finish_run(run_id, status, output, error, now));
  }
  bool pause_run(std::int64_t run_id, const std::optional<std::string>& error,
                 TimePoint now) override {
    PGQRS_S3_WRITE(pause_run(run_id, error, now));
  }
  std::optional<bool> cancel_run(std::int64_t run_id, TimePoint now) override {
    PGQRS_S3_WRITE(cancel_run(run_id, now));
  }
  RunBoundary run_boundary(std::int64_t run_id, std::int64_t message_id, std::int64_t worker,
                           TimePoint now) override {
    PGQRS_S3_READ(run_boundary(run_id, message_id, worker, now));
  }
  std::optional<StepRecord> get_step(std::int64_t run_id, std::string_view name) override {
    PGQRS_S3_READ(get_step(run_id, name));
  }
  StepRecord begin_step(std::int64_t run_id, std::string_view name, TimePoint now) override {
    PGQRS_S3_WRITE(begin_step(run_id, name, now));
  }
  bool update_step(std::int64_t run_id, std::string_view name, const StepUpdate& update,
                   TimePoint now) override {
    PGQRS_S3_WRITE(update_step(run_id, name, update, now));
  }
  std::vector<StepRecord> list_steps(std::int64_t run_id) override {
    PGQRS_S3_READ(list_steps(run_id));
  }

 private:
  Replica replica_;
};

#undef PGQRS_S3_READ
#undef PGQRS_S3_WRITE

}  // namespace

std::unique_ptr<Backend> make_s3_backend(const Config& config, const Dsn& dsn) {
  return std::make_unique<S3Backend>(config, dsn);
}

}  // namespace pgqrs::backend
