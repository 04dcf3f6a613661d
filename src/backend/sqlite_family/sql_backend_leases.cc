// SqlFamilyBackend: owner-only operations on leased messages (archive, remove, set_lease,
// release, defer). Each applies to a message only while `worker` holds a valid lease on it:
// consumer_worker_id = worker, vt > now, not archived, not dead. A batch runs in one write
// transaction and reports one flag per id, in input order. These and the leases are the hot
// writes of consumers, so they are group-committed with other threads' (executor.h).
#include "backend/sqlite_family/sql_backend.h"

#include "backend/sqlite_family/lease_sql.h"

namespace pgqrs::sqlite_family {
namespace {

// Parameters common to every statement below: ?1 = id, ?2 = worker, ?3 = now.

constexpr char kArchive[] = "UPDATE pgqrs_messages SET archived_at = ?3" PGQRS_SQL_HELD_BY_WORKER;

constexpr char kRemove[] = "DELETE FROM pgqrs_messages" PGQRS_SQL_HELD_BY_WORKER;

constexpr char kSetLease[] = "UPDATE pgqrs_messages SET vt = ?4" PGQRS_SQL_HELD_BY_WORKER;

// ?4 = visible_at, ?5 = max_read_ct. A message already delivered max_read_ct times is
// dead-lettered instead of coming back. SET expressions read the row's old values.
constexpr char kRelease[] =
    "UPDATE pgqrs_messages SET vt = ?4, consumer_worker_id = NULL, "
    "dead_at = CASE WHEN read_ct >= ?5 THEN ?3 ELSE NULL END" PGQRS_SQL_HELD_BY_WORKER;

// ?4 = visible_at. This delivery is not counted, so nothing is dead-lettered.
constexpr char kDefer[] =
    "UPDATE pgqrs_messages SET vt = ?4, consumer_worker_id = NULL, "
    "read_ct = MAX(read_ct - 1, 0)" PGQRS_SQL_HELD_BY_WORKER;

#undef PGQRS_SQL_HELD_BY_WORKER

// Adds the messages just archived (ids[i] where applied[i]) to their queue's counter, in the
// archiving transaction (W8). Every id of a lease batch is in one queue, but this does not
// rely on it: the queue is read from each archived row.
constexpr char kCountArchived[] = R"sql(
INSERT INTO pgqrs_archived_counts (queue_id, stripe, n)
SELECT queue_id, 0, 1 FROM pgqrs_messages WHERE id = ?1
ON CONFLICT (queue_id, stripe) DO UPDATE SET n = n + 1)sql";

void count_archived(Session& s, const std::vector<std::int64_t>& ids,
                    const std::vector<bool>& applied) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (applied[i]) s.query(kCountArchived).bind(ids[i]).execute();
  }
}

}  // namespace

template <class Bind>
std::vector<bool> SqlFamilyBackend::per_id(std::string_view op, std::string_view sql,
                                           const std::vector<std::int64_t>& ids, Bind bind) {
  if (ids.empty()) return {};
  return exec_.write_grouped(op, [&](Session& s) {
    std::vector<bool> applied;
    applied.reserve(ids.size());
    for (const std::int64_t id : ids) {
      auto q = s.query(sql);
      bind(q, id);
      applied.push_back(q.execute() > 0);
    }
    return applied;
  });
}

std::vector<bool> SqlFamilyBackend::archive(const std::vector<std::int64_t>& ids,
                                            std::int64_t worker, TimePoint now) {
  if (ids.empty()) return {};
  return exec_.write_grouped("archive", [&](Session& s) {
    std::vector<bool> applied;
    applied.reserve(ids.size());
    for (const std::int64_t id : ids) {
      auto q = s.query(kArchive);
      q.bind(id).bind(worker).bind(now);
      applied.push_back(q.execute() > 0);
    }
    count_archived(s, ids, applied);
    return applied;
  });
}

// One write transaction (one BEGIN IMMEDIATE ... COMMIT, so one fsync in place of two):
// the archive, then the lease. The archived rows have vt > now, so the lease cannot pick them.
backend::Backend::ArchiveAndLease SqlFamilyBackend::archive_and_dequeue(
    const std::vector<std::int64_t>& ids, const backend::DequeueParams& p) {
  return exec_.write_grouped("archive_and_dequeue", [&](Session& s) {
    ArchiveAndLease out;
    out.archived.reserve(ids.size());
    for (const std::int64_t id : ids) {
      auto q = s.query(kArchive);
      q.bind(id).bind(p.consumer_worker_id).bind(p.now);
      out.archived.push_back(q.execute() > 0);
    }
    count_archived(s, ids, out.archived);
    out.leased = lease_in(s, p);
    return out;
  });
}

std::vector<bool> SqlFamilyBackend::remove(const std::vector<std::int64_t>& ids,
                                           std::int64_t worker, TimePoint now) {
  return per_id("remove", kRemove, ids,
                [&](Query& q, std::int64_t id) { q.bind(id).bind(worker).bind(now); });
}

std::vector<bool> SqlFamilyBackend::set_lease(const std::vector<std::int64_t>& ids,
                                              std::int64_t worker, TimePoint new_vt,
                                              TimePoint now) {
  return per_id("set_lease", kSetLease, ids,
                [&](Query& q, std::int64_t id) { q.bind(id).bind(worker).bind(now).bind(new_vt); });
}

std::vector<bool> SqlFamilyBackend::release(const std::vector<std::int64_t>& ids,
                                            std::int64_t worker, TimePoint visible_at,
                                            TimePoint now, std::int32_t max_read_ct) {
  return per_id("release", kRelease, ids, [&](Query& q, std::int64_t id) {
    q.bind(id).bind(worker).bind(now).bind(visible_at).bind(max_read_ct);
  });
}

std::vector<bool> SqlFamilyBackend::defer(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                          TimePoint visible_at, TimePoint now) {
  return per_id("defer", kDefer, ids, [&](Query& q, std::int64_t id) {
    q.bind(id).bind(worker).bind(now).bind(visible_at);
  });
}

}  // namespace pgqrs::sqlite_family
