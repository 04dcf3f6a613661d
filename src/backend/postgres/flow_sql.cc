#include "backend/postgres/flow_sql.h"

#include "backend/record_rows.h"

namespace pgqrs::pg {

void add_option_params(Params& params, const QueueOptions& options) {
  const backend::StoredQueueOptions o = backend::stored_options(options);
  params.optional_int8(o.concurrency)
      .optional_int8(o.worker_concurrency)
      .optional_int8(o.key_concurrency)
      .optional_int8(o.rate_limit)
      .optional_int8(o.rate_period_us)
      .optional_int8(o.retain_archived_us)
      .optional_int8(o.retain_dead_us);
}

}  // namespace pgqrs::pg
