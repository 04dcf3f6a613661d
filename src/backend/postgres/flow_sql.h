// Flow control (issue 14) on Postgres: the statements shared by the queue options
// (pg_backend_flow.cc), enqueue with flow fields and the limited dequeue (flow_lease.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/postgres/executor.h"
#include "backend/postgres/pq.h"
#include "backend/postgres/sql_text.h"
#include "pgqrs/queue_options.h"

namespace pgqrs::pg {

// Appends the 7 option columns (backend::StoredQueueOptions, in order) as int8 parameters.
void add_option_params(Params& params, const QueueOptions& options);

// enqueue() of messages with flow fields, inside the caller's transaction on `s` (several
// statements: mark dead letters holding a key, insert with ON CONFLICT DO NOTHING on the
// dedup index, then read the live messages that hold the conflicting keys; a key freed in
// between is inserted again). Ids in input order. Sends no notification: the caller does,
// after its commit (NotifyIn::kCaller). `channel`: the notify channel.
std::vector<std::int64_t> enqueue_flow(Session& s, StatementCache& sql,
                                       const backend::EnqueueParams& p, const std::string& channel);

}  // namespace pgqrs::pg
