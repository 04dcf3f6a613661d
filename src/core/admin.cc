#include "pgqrs/admin.h"

#include <chrono>
#include <string>

#include "core/run_transitions.h"
#include "core/store_state.h"
#include "core/validation.h"
#include "core/worker_lifecycle.h"
#include "pgqrs/error.h"

namespace pgqrs {
namespace {

detail::StoreState& st(const Store& store) { return *StoreAccess::state(store); }
std::int32_t max_read_ct(const Store& store) {
  return static_cast<std::int32_t>(store.config().max_read_ct);
}

[[noreturn]] void queue_not_found(std::string_view name) {
  throw QueueNotFoundError("queue '" + std::string(name) + "' not found");
}

}  // namespace

void Admin::install() const { st(store_).backend->install(); }

SchemaInfo Admin::verify() const {
  auto version = st(store_).backend->schema_version();
  if (!version) {
    throw ConfigError("pgqrs schema is not installed in " + st(store_).dsn.redacted() +
                      " (run `pgqrs admin install` or admin(store).install())");
  }
  if (*version != backend::kSchemaVersion) {
    throw ConfigError("pgqrs schema is at version " + std::to_string(*version) +
                      ", this build expects version " + std::to_string(backend::kSchemaVersion) +
                      " (run install to upgrade)");
  }
  return SchemaInfo{*version, backend::kSchemaVersion};
}

void Admin::uninstall() const { st(store_).backend->uninstall(); }

QueueInfo Admin::create_queue(std::string_view name) const {
  core::validate_name(name, "queue name");
  return st(store_).backend->create_queue(name, st(store_).now());
}

namespace {
// Durations as stored: whole microseconds, so what is returned equals a later read.
QueueOptions normalized(QueueOptions o) {
  const auto floor_us = [](std::optional<Duration>& d) {
    if (d) d = std::chrono::floor<std::chrono::microseconds>(*d);
  };
  floor_us(o.retain_archived);
  floor_us(o.retain_dead);
  if (o.rate_limit) {
    o.rate_limit->period = std::chrono::floor<std::chrono::microseconds>(o.rate_limit->period);
  }
  return o;
}
}  // namespace

QueueInfo Admin::create_queue(std::string_view name, const QueueOptions& options) const {
  core::validate_name(name, "queue name");
  const QueueOptions stored = normalized(options);
  validate(stored);
  return st(store_).backend->create_queue(name, st(store_).now(), stored);
}

QueueInfo Admin::update_queue(std::string_view name,
                              const std::function<void(QueueOptions&)>& edit) const {
  core::validate_name(name, "queue name");
  return st(store_).backend->update_queue_options(name, [&](const QueueOptions& current) {
    QueueOptions next = current;
    edit(next);
    next = normalized(next);
    validate(next);
    return next;
  });
}

QueueInfo Admin::get_queue(std::string_view name) const {
  core::validate_name(name, "queue name");
  auto q = st(store_).backend->find_queue(name);
  if (!q) queue_not_found(name);
  return *q;
}

std::vector<QueueInfo> Admin::list_queues() const { return st(store_).backend->list_queues(); }

void Admin::delete_queue(std::string_view name) const {
  core::validate_name(name, "queue name");
  st(store_).backend->delete_queue(name);
}

std::uint64_t Admin::purge_queue(std::string_view name) const {
  core::validate_name(name, "queue name");
  return st(store_).backend->purge_queue(name);
}

namespace {

void validate_before_id(std::optional<std::int64_t> before_id) {
  if (before_id && *before_id <= 0) {
    throw ValidationError("before_id must be a positive id, got " + std::to_string(*before_id));
  }
}

}  // namespace

std::vector<QueueMessage> Admin::list_messages(std::string_view queue, std::uint32_t limit,
                                               bool include_archived,
                                               std::optional<std::int64_t> before_id) const {
  core::validate_name(queue, "queue name");
  if (limit == 0) throw ValidationError("limit must be at least 1");
  validate_before_id(before_id);
  return st(store_).backend->list_messages(queue, limit, include_archived, before_id);
}

QueueMessage Admin::get_message(std::int64_t id) const {
  auto m = st(store_).backend->get_message(id);
  if (!m) throw MessageNotFoundError("message " + std::to_string(id) + " not found");
  return *m;
}

std::vector<QueueMessage> Admin::dlq(std::optional<std::string_view> queue,
                                     std::optional<std::uint32_t> limit,
                                     std::optional<std::int64_t> before_id) const {
  if (queue) {
    core::validate_name(*queue, "queue name");
    get_queue(*queue);
  }
  if (limit && *limit == 0) throw ValidationError("limit must be at least 1");
  validate_before_id(before_id);
  return st(store_).backend->dead_letters(queue, st(store_).now(), max_read_ct(store_), limit,
                                          before_id);
}

bool Admin::replay_dlq(std::int64_t id) const {
  return st(store_).backend->replay_dead_letter(id, st(store_).now(), max_read_ct(store_));
}

QueueMetrics Admin::queue_metrics(std::string_view queue) const {
  core::validate_name(queue, "queue name");
  return st(store_).backend->queue_metrics(queue, st(store_).now(), max_read_ct(store_));
}

std::vector<QueueMetrics> Admin::all_queues_metrics() const {
  return st(store_).backend->all_queue_metrics(st(store_).now(), max_read_ct(store_));
}

SystemStats Admin::system_stats() const {
  return st(store_).backend->system_stats(st(store_).now(), max_read_ct(store_));
}

std::vector<WorkerInfo> Admin::list_workers(std::optional<std::string_view> queue) const {
  if (queue) {
    core::validate_name(*queue, "queue name");
    get_queue(*queue);
  }
  return st(store_).backend->list_workers(queue);
}

WorkerInfo Admin::get_worker(std::int64_t id) const { return core::require_worker(st(store_), id); }

std::vector<QueueMessage> Admin::worker_messages(std::int64_t worker_id) const {
  core::require_worker(st(store_), worker_id);
  return st(store_).backend->leased_messages(worker_id, st(store_).now());
}

std::uint64_t Admin::release_worker_messages(std::int64_t worker_id) const {
  core::require_worker(st(store_), worker_id);
  return st(store_).backend->release_worker_messages(worker_id, st(store_).now());
}

WorkerInfo Admin::suspend_worker(std::int64_t id) const {
  core::suspend(st(store_), id);
  return get_worker(id);
}

WorkerInfo Admin::resume_worker(std::int64_t id) const {
  core::resume(st(store_), id);
  return get_worker(id);
}

WorkerInfo Admin::shutdown_worker(std::int64_t id) const {
  core::shutdown(st(store_), id);
  return get_worker(id);
}

WorkerInfo Admin::heartbeat_worker(std::int64_t id) const {
  if (!st(store_).backend->heartbeat(id, st(store_).now())) {
    throw WorkerNotFoundError("worker " + std::to_string(id) + " not found");
  }
  return get_worker(id);
}

void Admin::delete_worker(std::int64_t id) const { st(store_).backend->delete_worker(id); }

WorkerStats Admin::worker_stats(std::string_view queue) const {
  core::validate_name(queue, "queue name");
  return st(store_).backend->worker_stats(queue, st(store_).now());
}

std::vector<WorkerHealth> Admin::worker_health(std::chrono::seconds timeout) const {
  if (timeout.count() <= 0) throw ValidationError("health timeout must be positive");
  const auto now = st(store_).now();
  std::vector<WorkerHealth> out;
  for (auto& w : st(store_).backend->list_workers(std::nullopt)) {
    if (w.status == WorkerStatus::kStopped) continue;
    WorkerHealth h;
    h.since_heartbeat = std::chrono::duration_cast<std::chrono::milliseconds>(now - w.heartbeat_at);
    h.healthy = h.since_heartbeat <= timeout;
    h.worker = std::move(w);
    out.push_back(std::move(h));
  }
  return out;
}

std::uint64_t Admin::reclaim_messages(std::string_view queue,
                                      std::chrono::seconds older_than) const {
  core::validate_name(queue, "queue name");
  if (older_than.count() < 0) throw ValidationError("older_than must not be negative");
  const auto now = st(store_).now();
  return st(store_).backend->reclaim_zombies(queue, now - older_than, now);
}

std::uint64_t Admin::purge_old_workers(std::chrono::seconds older_than) const {
  if (older_than.count() < 0) throw ValidationError("older_than must not be negative");
  return st(store_).backend->purge_workers(st(store_).now() - older_than);
}

std::vector<WorkflowRecord> Admin::list_workflows() const {
  return st(store_).backend->list_workflows();
}

std::vector<RunRecord> Admin::list_runs(const RunFilter& filter) const {
  if (filter.workflow) core::validate_name(*filter.workflow, "workflow name");
  if (filter.limit == 0) throw ValidationError("limit must be at least 1");
  validate_before_id(filter.before_id);
  return st(store_).backend->list_runs(filter);
}

RunRecord Admin::get_run(std::int64_t run_id) const {
  auto run = st(store_).backend->get_run(run_id);
  if (!run) throw ValidationError("run " + std::to_string(run_id) + " not found");
  return *run;
}

std::vector<StepRecord> Admin::run_steps(std::int64_t run_id) const {
  get_run(run_id);
  return st(store_).backend->list_steps(run_id);
}

bool Admin::resume_run(std::int64_t run_id) const {
  auto applied = st(store_).backend->resume_run_now(run_id, st(store_).now());
  if (!applied) throw ValidationError("run " + std::to_string(run_id) + " not found");
  return *applied;
}

bool Admin::cancel_run(std::int64_t run_id) const {
  auto applied = core::cancel_run_tree(*st(store_).backend, run_id, st(store_).now());
  if (!applied) throw ValidationError("run " + std::to_string(run_id) + " not found");
  return *applied;
}

}  // namespace pgqrs
