#include "pgqrs/error.h"

namespace pgqrs {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kQueueNotFound:
      return "queue_not_found";
    case ErrorCode::kQueueAlreadyExists:
      return "queue_already_exists";
    case ErrorCode::kWorkerNotFound:
      return "worker_not_found";
    case ErrorCode::kMessageNotFound:
      return "message_not_found";
    case ErrorCode::kConfig:
      return "config";
    case ErrorCode::kValidation:
      return "validation";
    case ErrorCode::kSerialization:
      return "serialization";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kStateTransition:
      return "state_transition";
    case ErrorCode::kConnection:
      return "connection";
    case ErrorCode::kStorageFull:
      return "storage_full";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kTransientStep:
      return "transient_step";
    case ErrorCode::kStepNotReady:
      return "step_not_ready";
    case ErrorCode::kRetriesExhausted:
      return "retries_exhausted";
    case ErrorCode::kPaused:
      return "paused";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kExecutionFailed:
      return "execution_failed";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace pgqrs
