#include "core/run_transitions.h"

#include <string>

#include "pgqrs/error.h"

namespace pgqrs::core {

std::optional<WorkflowStatus> finish_run(backend::WorkflowStore& runs, std::int64_t run_id,
                                         WorkflowStatus status,
                                         const std::optional<std::string>& output,
                                         const std::optional<std::string>& error, TimePoint now) {
  if (!is_terminal(status)) {
    throw InternalError("finish_run: " + std::string(to_string(status)) +
                        " is not a final status (SUCCESS, ERROR or CANCELLED)");
  }
  const auto current = runs.get_run(run_id);
  if (current && current->status == WorkflowStatus::kCancelling) {
    if (!runs.finish_run(run_id, WorkflowStatus::kCancelled, std::nullopt, std::nullopt, now)) {
      return std::nullopt;
    }
    return WorkflowStatus::kCancelled;
  }
  if (!runs.finish_run(run_id, status, output, error, now)) return std::nullopt;
  return status;
}

}  // namespace pgqrs::core
