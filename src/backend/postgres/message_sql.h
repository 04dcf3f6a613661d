// The enqueue statement, shared by PostgresBackend::enqueue (its own autocommit statement)
// and user transactions (the same statement inside the user's transaction).
//
// One statement, one round trip, whatever the batch size: the payloads travel as one
// jsonb[] parameter and are inserted with INSERT ... SELECT FROM unnest($2) WITH
// ORDINALITY ... ORDER BY ordinality, so ids are assigned in input order. When the new
// messages are visible now, consumers are told (NotifyIn).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/postgres/pq.h"

namespace pgqrs::pg {

// Template (sql_text.h). Parameters: see enqueue_params().
extern const char kEnqueue[];

// Where the wake-up notification of a write goes (decision P14). Postgres serializes the
// commits of every transaction that ran NOTIFY (a database-wide lock held from before the
// commit until after its log flush), so producers that notify inside their insert's
// transaction commit one at a time however many there are.
enum class NotifyIn {
  // pg_notify in the statement: delivered when (and only if) the enclosing transaction
  // commits. For writes inside a transaction the caller does not commit (a user's).
  kStatement,
  // Nothing in the statement: the caller commits, then sends the notification in a
  // transaction of its own (PostgresBackend::notify_after_commit).
  kCaller,
};

Params enqueue_params(const backend::EnqueueParams& p, const std::string& channel, NotifyIn notify);
// The parameters every dequeue statement starts with: $1 queue name, $2 now, $3 new vt,
// $4 consumer, $5 max_read_ct, $6 limit.
Params dequeue_params(const backend::DequeueParams& p);
// Ids in input order; QueueNotFoundError / WorkerNotFoundError (nothing was inserted then).
std::vector<std::int64_t> enqueue_result(const Result& r, const backend::EnqueueParams& p);

}  // namespace pgqrs::pg
