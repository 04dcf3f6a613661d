// State behind a pgqrs::Run handle: one execution of one workflow run (internal).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "backend/capabilities/coordination.h"
#include "core/store_state.h"
#include "pgqrs/tracing.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

// One execution of a run; opaque to users (pgqrs/workflow.h), detail::RunState to the engine.
class Run::State {
 public:
  std::shared_ptr<Store::State> store;
  Store handle = StoreAccess::make(nullptr);
  std::int64_t run_id = 0;
  // The run's message and the worker leasing it for this execution (0 when the Run was not
  // made by a workflow worker, e.g. in unit tests: then no lease is checked).
  std::int64_t message_id = 0;
  std::int64_t worker_id = 0;
  // Set when a step boundary found that this worker no longer holds the run's message lease
  // (another worker took the run over). The worker then stops executing the run and leaves
  // the message alone, whatever the handler did with the exception.
  bool lease_lost = false;
  json input;
  StepRetryPolicy workflow_policy;
  // Step names used in this execution (a name used twice is a ValidationError).
  std::set<std::string, std::less<>> used_steps;
  // Steps this execution started (acquire_step answered kExecute). A backend may make the
  // start's RUNNING row durable lazily (Postgres: decision B4), so a server crash can lose
  // it; recording such a step's outcome recreates the row instead of calling it unacquired.
  std::set<std::string, std::less<>> begun_steps;
  // Every step this execution reached (acquired or replayed, durable timers included): a
  // stored step not in it was recorded beyond this execution's position (Run::patched).
  std::set<std::string, std::less<>> reached_steps;
  // Counts run.pause() calls in this execution; the n-th pause is the durable timer step
  // "pause:<n>", so a replay finds the same timer.
  int pause_count = 0;
  // When the run must be looked at again (set before PausedError / StepNotReadyError).
  std::optional<TimePoint> wake_at;
  // Counts this execution's coordination calls by kind ("recv", "send", "event", "child",
  // ...): the n-th call of a kind is the step "<kind>:<n>", so a replay finds the same step.
  std::map<std::string, int, std::less<>> call_counts;
  // Set with the PausedError of a wait (recv, a child's result): what ends it, so the worker
  // defers the run's message with defer_waiting_run (backend/capabilities/coordination.h).
  std::optional<backend::RunWait> wait;
  // Tracing (pgqrs/tracing.h): the run's queue (its workflow's name), the trace context of
  // its message (Run::trace_context), and the start time and attempt of each step executing
  // now (kept only while a trace hook is installed).
  std::string queue;
  std::optional<TraceContext> trace;
  struct StepStart {
    TimePoint at;
    std::int32_t attempt = 1;
  };
  std::map<std::string, StepStart, std::less<>> steps_started;
  // Set by Run::with_time: this handle's "now" instead of the store's clock.
  std::optional<TimePoint> fixed_now;

  TimePoint now() const { return fixed_now ? *fixed_now : store->now(); }
};

struct RunAccess {
  static Run make(std::shared_ptr<Run::State> state) { return Run(std::move(state)); }
};

namespace detail {

using RunState = Run::State;

// Throws ConflictError (and sets s.lease_lost) unless this execution still holds the run's
// message lease: not archived, leased to s.worker_id, vt in the future. A no-op when
// s.message_id is 0.
void check_lease(RunState& s);

// A step boundary and the start of the engine-named step `name` (a coordination call): the
// name must be new in this execution (ValidationError otherwise); then as acquire_step's
// start (CancelledError, ConflictError) except that the row is returned as stored, whatever
// its status, without moving it to RUNNING.
StepRecord enter_step(RunState& s, const std::string& name);
// "<kind>:<n>" for the n-th call of `kind` in this execution.
std::string next_call_step(RunState& s, std::string_view kind);
// Suspends the run until `wait` is satisfied or `wake_at`: the run becomes PAUSED, s.wait
// and s.wake_at are set, and PausedError (saying `what` the run waits for) unwinds the
// handler.
[[noreturn]] void suspend(RunState& s, backend::RunWait wait, TimePoint wake_at,
                          const std::string& what);

}  // namespace detail
}  // namespace pgqrs
