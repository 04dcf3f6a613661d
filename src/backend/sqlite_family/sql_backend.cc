// SqlFamilyBackend: construction, schema and queue operations.
#include "backend/sqlite_family/sql_backend.h"

#include <chrono>
#include <string>
#include <utility>

#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/migrations.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/watch_queries.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kQueueByName[] =
    "SELECT " PGQRS_QUEUE_COLUMNS " FROM pgqrs_queues WHERE queue_name = ?1";
constexpr char kAllQueues[] =
    "SELECT " PGQRS_QUEUE_COLUMNS " FROM pgqrs_queues ORDER BY queue_name";
constexpr char kQueueHasMessages[] = "SELECT 1 FROM pgqrs_messages WHERE queue_id = ?1 LIMIT 1";
constexpr char kQueueLiveWorkers[] =
    "SELECT COUNT(*) FROM pgqrs_workers WHERE queue_id = ?1 AND status <> 'stopped'";
constexpr char kQueueHasWorkflow[] = "SELECT name FROM pgqrs_workflows WHERE queue_id = ?1";
// Stopped workers of the queue go with it when nothing refers to them; the others are kept
// (history) but detached, so that the queue row can be deleted.
constexpr char kDeleteStoppedWorkers[] = R"sql(
DELETE FROM pgqrs_workers
WHERE queue_id = ?1 AND status = 'stopped'
  AND NOT EXISTS (SELECT 1 FROM pgqrs_messages m WHERE m.consumer_worker_id = pgqrs_workers.id)
  AND NOT EXISTS (SELECT 1 FROM pgqrs_messages m WHERE m.producer_worker_id = pgqrs_workers.id))sql";
constexpr char kDetachStoppedWorkers[] =
    "UPDATE pgqrs_workers SET queue_id = NULL WHERE queue_id = ?1 AND status = 'stopped'";
// The counter rows first: a driver without foreign key enforcement would leave them behind,
// and SQLite may hand the freed id to the next queue.
constexpr char kDeleteArchivedCounts[] = "DELETE FROM pgqrs_archived_counts WHERE queue_id = ?1";
constexpr char kDeleteQueue[] = "DELETE FROM pgqrs_queues WHERE id = ?1";
constexpr char kPurgeQueue[] = "DELETE FROM pgqrs_messages WHERE queue_id = ?1";

std::chrono::milliseconds operation_timeout(const Config& config) {
  return std::chrono::seconds(config.connection_timeout_seconds);
}

}  // namespace

SqlFamilyBackend::SqlFamilyBackend(std::unique_ptr<Driver> driver, const Config& config)
    : SqlFamilyBackend(std::move(driver), config, Decoration{}) {}

SqlFamilyBackend::SqlFamilyBackend(std::unique_ptr<Driver> driver, const Config& config,
                                   Decoration decoration)
    : driver_(std::move(driver)),
      name_(decoration.name.empty() ? std::string(driver_->name()) : std::move(decoration.name)),
      max_read_ct_(static_cast<std::int32_t>(config.max_read_ct)),
      app_version_(config.app_version.empty() ? std::nullopt
                                              : std::optional<std::string>(config.app_version)),
      gated_(decoration.gate != nullptr),
      pool_([d = driver_.get()] { return std::make_unique<Session>(d->open()); },
            config.max_connections, name_),
      exec_(pool_, operation_timeout(config), name_) {
  exec_.set_gate(decoration.gate);
  // Open the first connection now: a bad path or a file that is not a database is reported
  // by connect(), not by the first queue operation.
  exec_.read("connect", [](Session&) {});
}

SqlFamilyBackend::~SqlFamilyBackend() = default;

std::unique_ptr<backend::Subscription> SqlFamilyBackend::subscribe(
    std::string_view queue, std::function<void()> on_activity) {
  const std::string file = driver_->shared_file();
  if (file.empty() || gated_) return nullptr;
  std::lock_guard lock(watcher_mu_);
  if (!watcher_) {
    watcher_ = std::make_unique<ChangeWatcher>(
        file, [this] { return exec_.read("watch_last_message", last_message_id); },
        [this](std::int64_t after, TimePoint since, TimePoint until) {
          return exec_.read("watch_queue_activity",
                            [&](Session& s) { return queue_activity(s, after, since, until); });
        });
  }
  return watcher_->subscribe(queue, std::move(on_activity));
}

// ---- schema -------------------------------------------------------------------------------

void SqlFamilyBackend::install() { install_schema(exec_); }
void SqlFamilyBackend::install_to(std::int32_t version) { install_schema(exec_, version); }

std::optional<std::int32_t> SqlFamilyBackend::schema_version() {
  return exec_.read("schema_version", [](Session& s) { return read_schema_version(s); });
}

void SqlFamilyBackend::uninstall() { uninstall_schema(exec_); }

// ---- queues -------------------------------------------------------------------------------

QueueInfo SqlFamilyBackend::create_queue(std::string_view name, TimePoint now,
                                         const QueueOptions& options) {
  return exec_.write("create_queue", [&](Session& s) {
    if (find_queue_id(s, name)) {
      throw QueueAlreadyExistsError("queue '" + std::string(name) + "' already exists");
    }
    QueueInfo info;
    info.id = insert_queue(s, name, now);
    info.queue_name = std::string(name);
    info.created_at = stored(now);
    write_queue_options(s, info.id, options);
    info.options = options;
    return info;
  });
}

std::optional<QueueInfo> SqlFamilyBackend::find_queue(std::string_view name) {
  return exec_.read("find_queue", [&](Session& s) -> std::optional<QueueInfo> {
    auto q = s.query(kQueueByName);
    q.bind(name);
    if (!q.step()) return std::nullopt;
    return backend::read_queue(QueryRow(q));
  });
}

std::vector<QueueInfo> SqlFamilyBackend::list_queues() {
  return exec_.read("list_queues", [](Session& s) {
    std::vector<QueueInfo> out;
    auto q = s.query(kAllQueues);
    while (q.step()) out.push_back(backend::read_queue(QueryRow(q)));
    return out;
  });
}

void SqlFamilyBackend::delete_queue(std::string_view name) {
  exec_.write("delete_queue", [&](Session& s) {
    const std::int64_t id = require_queue_id(s, name);
    const std::string quoted = "queue '" + std::string(name) + "'";
    if (s.query(kQueueHasMessages).bind(id).step()) {
      throw ConflictError("cannot delete " + quoted +
                          ": it still has messages (purge the queue first)");
    }
    {
      auto q = s.query(kQueueLiveWorkers);
      q.bind(id).step();
      if (const auto live = q.int64(0); live > 0) {
        throw ConflictError("cannot delete " + quoted + ": " + std::to_string(live) +
                            " worker(s) that are not stopped still use it");
      }
    }
    {
      auto q = s.query(kQueueHasWorkflow);
      if (q.bind(id).step()) {
        throw ConflictError("cannot delete " + quoted + ": workflow '" + q.text(0) + "' uses it");
      }
    }
    s.query(kDeleteStoppedWorkers).bind(id).execute();
    s.query(kDetachStoppedWorkers).bind(id).execute();
    s.query(kDeleteArchivedCounts).bind(id).execute();
    s.query(kDeleteQueue).bind(id).execute();
  });
}

std::uint64_t SqlFamilyBackend::purge_queue(std::string_view name) {
  return exec_.write("purge_queue", [&](Session& s) {
    const std::int64_t id = require_queue_id(s, name);
    // One writer: nothing archives between these two, so the counter ends at 0 exactly.
    s.query(kDeleteArchivedCounts).bind(id).execute();
    return static_cast<std::uint64_t>(s.query(kPurgeQueue).bind(id).execute());
  });
}

}  // namespace pgqrs::sqlite_family
