// SqlFamilyBackend: queue options (flow control, issue 14). Limits are applied by dequeue
// (flow_lease.cc); this file stores and updates the options.
#include "backend/record_rows.h"
#include "backend/sqlite_family/lookups.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kWriteOptions[] = R"sql(
UPDATE pgqrs_queues SET concurrency = ?2, worker_concurrency = ?3, key_concurrency = ?4,
  rate_limit = ?5, rate_period_us = ?6, retain_archived_us = ?7, retain_dead_us = ?8
WHERE id = ?1)sql";

constexpr char kQueueByName[] =
    "SELECT " PGQRS_QUEUE_COLUMNS " FROM pgqrs_queues WHERE queue_name = ?1";

}  // namespace

void write_queue_options(Session& s, std::int64_t queue_id, const QueueOptions& options) {
  const backend::StoredQueueOptions o = backend::stored_options(options);
  s.query(kWriteOptions)
      .bind(queue_id)
      .bind(o.concurrency)
      .bind(o.worker_concurrency)
      .bind(o.key_concurrency)
      .bind(o.rate_limit)
      .bind(o.rate_period_us)
      .bind(o.retain_archived_us)
      .bind(o.retain_dead_us)
      .execute();
}

// One write transaction: the write lock is held from BEGIN IMMEDIATE, so no other writer
// changes the row between the read and the update.
QueueInfo SqlFamilyBackend::update_queue_options(std::string_view name, const EditOptions& edit) {
  return exec_.write("update_queue_options", [&](Session& s) {
    QueueInfo info;
    {
      auto q = s.query(kQueueByName);
      q.bind(name);
      if (!q.step()) throw QueueNotFoundError("queue '" + std::string(name) + "' does not exist");
      info = backend::read_queue(QueryRow(q));
    }
    info.options = edit(info.options);
    write_queue_options(s, info.id, info.options);
    return info;
  });
}

}  // namespace pgqrs::sqlite_family
