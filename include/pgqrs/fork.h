// Fork and rerun (docs/workflows.md, "Fork and rerun").
//
// fork(store, run_id, from_step) starts a NEW run of the same workflow with the same input;
// the steps of the original run recorded before `from_step` (in creation order) that
// SUCCEEDED are copied into it with their outputs, so the new run returns their recorded
// results instead of executing them again; `from_step` and everything after it execute
// afresh. The original run is not changed (any status may be forked). The new run and its
// copied steps are written in one transaction: a worker never sees it half copied.
// rerun(store, run_id) is a fork that copies nothing. Each returns the new run's message
// (as workflow().trigger().execute() does; run().message(m) is the new run).
//
// Errors: ValidationError naming the run for an unknown run id, and naming the step (with
// the run's step names) when `from_step` is not a step of the run.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "pgqrs/records.h"
#include "pgqrs/store.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

QueueMessage fork(const Store& store, std::int64_t run_id, std::string_view from_step);
QueueMessage rerun(const Store& store, std::int64_t run_id);

// Bulk rerun: every run matching `filter` (definition, status, created since; at most
// filter.limit, newest first) is rerun from the start. The new runs' messages, in the order
// of the matched runs. Runs created by this call never match it again (they are newer than
// the list it read).
std::vector<QueueMessage> rerun_matching(const Store& store, const RunFilter& filter);

}  // namespace pgqrs
