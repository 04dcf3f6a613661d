// The enqueue statement, shared by PostgresBackend::enqueue (its own autocommit statement)
// and user transactions (the same statement inside the user's transaction).
//
// One statement, one round trip, whatever the batch size: the payloads travel as one
// jsonb[] parameter and are inserted with INSERT ... SELECT FROM unnest($2) WITH
// ORDINALITY ... ORDER BY ordinality, so ids are assigned in input order. When the new
// messages are visible now, the same statement runs pg_notify(channel, queue): the
// notification is delivered when (and only if) the transaction commits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/postgres/pq.h"

namespace pgqrs::pg {

// Template (sql_text.h). Parameters: see enqueue_params().
extern const char kEnqueue[];

Params enqueue_params(const backend::EnqueueParams& p, const std::string& channel);
// The parameters every dequeue statement starts with: $1 queue name, $2 now, $3 new vt,
// $4 consumer, $5 max_read_ct, $6 limit.
Params dequeue_params(const backend::DequeueParams& p);
// Ids in input order; QueueNotFoundError / WorkerNotFoundError (nothing was inserted then).
std::vector<std::int64_t> enqueue_result(const Result& r, const backend::EnqueueParams& p);

}  // namespace pgqrs::pg
