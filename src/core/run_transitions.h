// The engine's guarded run transitions (internal): the invariants a run's state machine must
// keep, stated once here rather than in every backend. The backends only do the atomic
// compare-and-set in storage (backend/capabilities/workflows.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "backend/capabilities/workflows.h"
#include "pgqrs/clock.h"
#include "pgqrs/workflow.h"

namespace pgqrs::core {

// Ends run `run_id` with the final `status` (SUCCESS, ERROR or CANCELLED; any other status
// is an InternalError, a bug in the engine, and nothing is stored). A run that was asked to
// cancel meanwhile (CANCELLING) ends CANCELLED, without output or error. Returns nullopt
// (nothing changed) when the run is neither RUNNING nor CANCELLING, e.g. already finished
// or PAUSED by its handler; otherwise the status stored.
std::optional<WorkflowStatus> finish_run(backend::WorkflowStore& runs, std::int64_t run_id,
                                         WorkflowStatus status,
                                         const std::optional<std::string>& output,
                                         const std::optional<std::string>& error, TimePoint now);

// QUEUED|RUNNING|PAUSED -> CANCELLING for run `run_id` (Backend::cancel_run) and, through
// the runs it started (Run::start_child), for every unfinished descendant. The result of the
// run's own cancel: nullopt for an unknown run, false when it was already cancelling or
// finished (its unfinished children are cancelled all the same). Defined in
// run_children.cc.
std::optional<bool> cancel_run_tree(backend::Backend& be, std::int64_t run_id, TimePoint now);

}  // namespace pgqrs::core
