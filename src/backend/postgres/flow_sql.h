// Flow control (issue 14) on Postgres: the parameters and statements shared by the queue
// options (pg_backend_flow.cc) and the limited dequeue (flow_lease.cc).
#pragma once

#include "backend/postgres/pq.h"
#include "pgqrs/queue_options.h"

namespace pgqrs::pg {

// Appends the 7 option columns (backend::StoredQueueOptions, in order) as int8 parameters.
void add_option_params(Params& params, const QueueOptions& options);

}  // namespace pgqrs::pg
