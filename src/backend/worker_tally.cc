#include "backend/worker_tally.h"

#include <string>

#include "pgqrs/error.h"

namespace pgqrs::backend {

void tally_workers(WorkerStats& stats, std::string_view status_text, std::uint64_t n) {
  const auto status = parse_worker_status(status_text);
  if (!status) {
    throw InternalError("a worker of queue '" + stats.queue_name + "' has unknown status '" +
                        std::string(status_text) + "'");
  }
  stats.total += n;
  switch (*status) {
    case WorkerStatus::kReady:
      stats.ready += n;
      break;
    case WorkerStatus::kPolling:
      stats.polling += n;
      break;
    case WorkerStatus::kSuspended:
      stats.suspended += n;
      break;
    case WorkerStatus::kInterrupted:
      stats.interrupted += n;
      break;
    case WorkerStatus::kStopped:
      stats.stopped += n;
      break;
  }
}

}  // namespace pgqrs::backend
