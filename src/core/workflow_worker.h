// Serving workflow runs (internal): the loop behind WorkflowBuilder::poll.
#pragma once

#include "core/poll_session.h"
#include "pgqrs/workflow.h"

namespace pgqrs::core {

// Leases run messages of def.name() one at a time and executes them until a stop condition
// of `r` holds. Per message: start the run (QUEUED|PAUSED|RUNNING -> RUNNING); call the
// handler; then SUCCESS + output (archive), ERROR + error (archive), CANCELLED (archive),
// or, for a pause / step retry, give the message back invisible until the wake time without
// counting the delivery.
PollStats serve_workflow(const WorkflowDef& def, ResolvedDequeue& r);

}  // namespace pgqrs::core
