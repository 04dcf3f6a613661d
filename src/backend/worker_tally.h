// Shared by every backend's worker_stats(): folds one (status text, count) row of a
// "workers of this queue grouped by status" query into a WorkerStats.
#pragma once

#include <cstdint>
#include <string_view>

#include "pgqrs/records.h"

namespace pgqrs::backend {

// Adds `n` workers with stored status `status_text` to `stats` (total and the status's own
// counter). Throws InternalError for a status text no pgqrs version writes.
void tally_workers(WorkerStats& stats, std::string_view status_text, std::uint64_t n);

}  // namespace pgqrs::backend
