// PostgresBackend::dequeue_limited: the lease of a queue with limits (issue 14;
// docs/flow-control.md; decisions F1, F9). One prepared autocommit statement calling
// {s}.pgqrs_lease_limited (migration_hot_path.cc), which in one transaction archives what
// the poll loop hands back, locks the queue row FOR UPDATE (serialising the limited
// dequeuers of the queue), sweeps dead letters, counts what is held with a snapshot taken
// after the lock, and leases the candidates in delivery order that fit every limit.
#include <unordered_set>

#include "backend/postgres/message_sql.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// Columns: 0 queue id, 1 consumer status, 2 dead letters swept, 3 queue has no limits,
// 4 archived ids, 5.. the leased message (NULL when none), in delivery order.
constexpr char kLeaseLimited[] =
    "SELECT * FROM {s}.pgqrs_lease_limited($1, $2, $3, $4, $5, $6, $7::int8[])";
constexpr int kFirstMessageColumn = 5;

}  // namespace

backend::Backend::ArchiveAndLease PostgresBackend::dequeue_limited(
    const std::vector<std::int64_t>& ids, const backend::DequeueParams& p) {
  Params params = dequeue_params(p);
  params.int8_array(ids);
  bool free = false;
  ArchiveAndLease out = exec_.write("dequeue", [&](Session& s) {
    const Result r = s.exec(sql_(kLeaseLimited), params);
    if (r.is_null(0, 1)) worker_not_found(p.consumer_worker_id);
    if (r.text(0, 1) == "stopped") {
      throw StateTransitionError("worker " + std::to_string(p.consumer_worker_id) +
                                 " is stopped: a stopped worker cannot lease messages");
    }
    if (r.is_null(0, 0)) queue_not_found(p.queue);
    free = r.boolean(0, 3);
    ArchiveAndLease result;
    const std::vector<std::int64_t> archived = r.int8_array(0, 4);
    std::unordered_set<std::int64_t> applied(archived.begin(), archived.end());
    result.archived.reserve(ids.size());
    for (const std::int64_t id : ids) result.archived.push_back(applied.erase(id) > 0);
    result.leased.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      if (r.is_null(i, kFirstMessageColumn)) continue;
      result.leased.push_back(backend::read_message(PgRow(r, i, kFirstMessageColumn)));
    }
    return result;
  });
  limited_.set(p.queue, !free);
  return out;
}

}  // namespace pgqrs::pg
