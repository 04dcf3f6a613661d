// Run: driving a run by hand (start / complete / fail / with_time) and RunBuilder::execute,
// for callers outside a workflow worker (the Python bindings' Run handle).
#include "core/run_state.h"
#include "core/run_transitions.h"
#include "core/tracer.h"
#include "core/workflow_json.h"
#include "pgqrs/workflow.h"

namespace pgqrs {
namespace {

std::string run_label(const detail::RunState& s) { return "run " + std::to_string(s.run_id); }

RunRecord current(const detail::RunState& s) {
  auto r = s.store->backend->get_run(s.run_id);
  if (!r) throw ValidationError(run_label(s) + " not found");
  return *r;
}

// RUNNING|CANCELLING -> `status`, or CANCELLED when a cancel was requested meanwhile
// (core::finish_run). ValidationError for an unknown run. Wakes this store's result() waits
// when the run finished.
bool finish(detail::RunState& s, WorkflowStatus status, const std::optional<std::string>& output,
            const std::optional<std::string>& error) {
  current(s);
  const bool finished =
      core::finish_run(*s.store->backend, s.run_id, status, output, error, s.now()).has_value();
  if (finished) s.store->activity.notify_run_finished();
  return finished;
}

}  // namespace

void Run::start() {
  auto& s = *state_;
  const auto before = current(s);
  // The original pgqrs' wording: "Run N is in terminal S state".
  auto terminal = [&](WorkflowStatus st) {
    return ValidationError("Run " + std::to_string(s.run_id) + " is in terminal " +
                           std::string(to_string(st)) +
                           " state; only a QUEUED, PAUSED or RUNNING run can be started");
  };
  if (is_terminal(before.status) || before.status == WorkflowStatus::kCancelling) {
    if (before.status == WorkflowStatus::kCancelling)
      s.store->backend->start_run(s.run_id, s.now());
    throw terminal(before.status);
  }
  auto started = s.store->backend->start_run(s.run_id, s.now());
  if (started.other_version) {
    throw ValidationError("Run " + std::to_string(s.run_id) +
                          " belongs to another app version than this store's (config "
                          "app_version '" +
                          s.store->config.app_version +
                          "'); migrate it (pgqrs workflow migrate) or use a store of its version");
  }
  if (!started.started) throw terminal(started.run.status);
  s.input = started.run.input;
}

bool Run::complete(const json& output) {
  auto& s = *state_;
  const std::string text = core::serialise_result(output, "output of " + run_label(s));
  if (s.message_id != 0) return true;  // a workflow worker records the outcome itself
  return finish(s, WorkflowStatus::kSuccess, text, std::nullopt);
}

bool Run::fail(const json& error) {
  auto& s = *state_;
  const std::string text = core::serialise_result(error, "error of " + run_label(s), true);
  if (s.message_id != 0) return true;  // a workflow worker records the outcome itself
  return finish(s, WorkflowStatus::kError, std::nullopt, text);
}

Run Run::with_time(TimePoint t) const {
  auto copy = std::make_shared<detail::RunState>(*state_);
  copy->fixed_now = t;
  return Run(std::move(copy));
}

Run RunBuilder::execute() const {
  auto rec = record();
  auto state = std::make_shared<detail::RunState>();
  state->store = StoreAccess::state(*store_);
  state->handle = *store_;
  state->run_id = rec.id;
  state->input = rec.input;
  state->queue = rec.workflow_name;
  if (state->store->tracer.active() && rec.message_id) {
    if (auto msg = state->store->backend->get_message(*rec.message_id)) {
      state->trace = core::trace_of(*msg);
    }
  }
  return Run(std::move(state));
}

}  // namespace pgqrs
