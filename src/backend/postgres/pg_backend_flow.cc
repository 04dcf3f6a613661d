// PostgresBackend: queue options (flow control, issue 14). The limits are applied by dequeue
// (flow_lease.cc); this file stores and updates them.
#include "backend/postgres/flow_sql.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// The row is locked until COMMIT, so concurrent updates apply one after the other and a
// limited dequeue (which locks the same row) sees either the old or the new options.
constexpr char kLockQueueOptions[] =
    "SELECT " PGQRS_QUEUE_COLUMNS " FROM {s}.pgqrs_queues WHERE queue_name = $1 FOR UPDATE";

constexpr char kWriteOptions[] = R"sql(
UPDATE {s}.pgqrs_queues SET concurrency = $2, worker_concurrency = $3, key_concurrency = $4,
  rate_limit = $5, rate_period_us = $6, retain_archived_us = $7, retain_dead_us = $8
WHERE id = $1)sql";

}  // namespace

QueueInfo PostgresBackend::update_queue_options(std::string_view name, const EditOptions& edit) {
  return exec_.transaction("update_queue_options", [&](Session& s) {
    auto r = s.exec(sql_(kLockQueueOptions), Params().text(name));
    if (r.rows() == 0) queue_not_found(name);
    QueueInfo info = backend::read_queue(PgRow(r, 0));
    info.options = edit(info.options);
    Params params;
    params.int8(info.id);
    add_option_params(params, info.options);
    s.exec(sql_(kWriteOptions), params);
    return info;
  });
}

}  // namespace pgqrs::pg
