// Run: the step protocol, durable timers (pause / sleep) and cancellation of one execution.
#include <cmath>

#include "core/run_state.h"
#include "core/time_format.h"
#include "core/validation.h"
#include "core/workflow_json.h"
#include "pgqrs/workflow.h"

namespace pgqrs {
namespace {

using backend::Backend;

std::string step_label(const detail::RunState& s, std::string_view name) {
  return "step '" + std::string(name) + "' of run " + std::to_string(s.run_id);
}

StepRecord require_step(detail::RunState& s, std::string_view name) {
  auto step = s.store->backend->get_step(s.run_id, name);
  if (!step) {
    throw ValidationError(step_label(s, name) + " was never acquired (call acquire_step first)");
  }
  return *step;
}

// A step boundary (before a step or a durable timer): the run must not be cancelling, and
// this execution must still hold the run's message lease, so an execution whose lease
// lapsed never starts another step. Throws CancelledError or ConflictError.
void step_boundary(detail::RunState& s) {
  auto run = s.store->backend->get_run(s.run_id);
  if (!run) throw InternalError("run " + std::to_string(s.run_id) + " disappeared");
  if (run->status == WorkflowStatus::kCancelling) {
    throw CancelledError("run " + std::to_string(s.run_id) + " is being cancelled");
  }
  detail::check_lease(s);
}

// A durable timer step: PAUSED with retry_at = wake time until it is due, then SUCCESS.
// Returns normally once due; otherwise pauses the run and throws PausedError.
void durable_timer(detail::RunState& s, const std::string& name, std::chrono::milliseconds d,
                   const std::string& reason) {
  if (d.count() < 0) throw ValidationError(step_label(s, name) + ": duration must not be negative");
  if (!s.used_steps.insert(name).second) {
    throw ValidationError(step_label(s, name) + " is used twice in one execution");
  }
  step_boundary(s);
  auto& be = *s.store->backend;
  auto now = s.store->now();
  auto step = be.begin_step(s.run_id, name, now);
  if (step.status == WorkflowStatus::kSuccess) return;
  TimePoint wake;
  if (step.status == WorkflowStatus::kPaused && step.retry_at) {
    wake = *step.retry_at;
  } else {
    wake = now + d;
    Backend::StepUpdate u;
    u.status = WorkflowStatus::kPaused;
    u.output = json{{"reason", reason}}.dump();
    u.retry_at = wake;
    be.update_step(s.run_id, name, u, now);
  }
  if (wake <= now) {
    Backend::StepUpdate done;
    done.status = WorkflowStatus::kSuccess;
    be.update_step(s.run_id, name, done, now);
    return;
  }
  be.pause_run(s.run_id, now);
  s.wake_at = wake;
  throw PausedError("run " + std::to_string(s.run_id) + " paused until " + core::format_time(wake) +
                    (reason.empty() ? "" : ": " + reason));
}

}  // namespace

void detail::check_lease(RunState& s) {
  if (s.message_id == 0) return;
  auto msg = s.store->backend->get_message(s.message_id);
  const bool held = msg && !msg->archived_at && !msg->dead_at &&
                    msg->consumer_worker_id == s.worker_id && msg->vt > s.store->now();
  if (held) return;
  s.lease_lost = true;
  throw ConflictError("run " + std::to_string(s.run_id) + ": worker " +
                      std::to_string(s.worker_id) + " no longer holds the lease of message " +
                      std::to_string(s.message_id) +
                      " (it expired; another worker may be running the run), so this "
                      "execution stops");
}

std::int64_t Run::id() const { return state_->run_id; }
const json& Run::input() const { return state_->input; }
const Store& Run::store() const { return state_->handle; }
TimePoint Run::current_time() const { return state_->store->now(); }

RunRecord Run::record() const {
  auto r = state_->store->backend->get_run(state_->run_id);
  if (!r) throw InternalError("run " + std::to_string(state_->run_id) + " disappeared");
  return *r;
}

WorkflowStatus Run::status() const { return record().status; }

std::vector<StepRecord> Run::steps() const {
  return state_->store->backend->list_steps(state_->run_id);
}

StepResult Run::acquire_step(std::string_view name) {
  auto& s = *state_;
  core::validate_name(name, "step name");
  if (s.used_steps.count(name) != 0) {
    throw ValidationError(step_label(s, name) + " is used twice in one execution; step names " +
                          "must be unique within a run");
  }
  auto& be = *s.store->backend;
  step_boundary(s);
  const auto now = s.store->now();
  auto step = be.begin_step(s.run_id, name, now);
  s.used_steps.emplace(name);
  switch (step.status) {
    case WorkflowStatus::kSuccess:
      return StepResult{StepResult::Status::kSkipped, step.output.value_or(json())};
    case WorkflowStatus::kError:
      throw ExecutionFailedError(step_label(s, name) + " failed permanently before: " +
                                 (step.error ? step.error->dump() : std::string("(no error)")));
    case WorkflowStatus::kQueued:
      if (step.retry_at && *step.retry_at > now) {
        s.wake_at = *step.retry_at;
        throw StepNotReadyError(step_label(s, name) + " retries at " +
                                core::format_time(*step.retry_at));
      }
      break;
    default:
      break;
  }
  if (step.status != WorkflowStatus::kRunning) {
    Backend::StepUpdate u;
    u.status = WorkflowStatus::kRunning;
    u.retry_count = step.retry_count;
    be.update_step(s.run_id, name, u, now);
  }
  return StepResult{StepResult::Status::kExecute, json()};
}

void Run::complete_step(std::string_view name, const json& output) {
  auto& s = *state_;
  const std::string text = core::serialise_result(output, step_label(s, name) + " output");
  auto step = require_step(s, name);
  if (step.status == WorkflowStatus::kSuccess) return;  // a recorded success is final
  Backend::StepUpdate u;
  u.status = WorkflowStatus::kSuccess;
  u.output = text;
  u.retry_count = step.retry_count;
  s.store->backend->update_step(s.run_id, name, u, s.store->now());
}

void Run::fail_step(std::string_view name, const json& error) {
  auto& s = *state_;
  auto step = require_step(s, name);
  Backend::StepUpdate u;
  u.status = WorkflowStatus::kError;
  u.error = core::serialise_result(error, step_label(s, name) + " error", /*lenient=*/true);
  u.retry_count = step.retry_count;
  s.store->backend->update_step(s.run_id, name, u, s.store->now());
}

void Run::fail_step_transient(std::string_view name, const TransientStepError& error,
                              const std::optional<StepRetryPolicy>& policy) {
  auto& s = *state_;
  const StepRetryPolicy& p = policy ? *policy : s.workflow_policy;
  auto step = require_step(s, name);
  const auto now = s.store->now();
  json err = {{"message", error.what()}, {"transient", true}};
  Backend::StepUpdate u;
  u.error = err.dump();
  if (static_cast<std::uint32_t>(step.retry_count) >= p.max_attempts) {
    u.status = WorkflowStatus::kError;
    u.retry_count = step.retry_count;
    s.store->backend->update_step(s.run_id, name, u, now);
    throw RetriesExhaustedError(step_label(s, name) + " failed after " +
                                std::to_string(step.retry_count) + " retries: " + error.what());
  }
  const auto attempt = static_cast<std::uint32_t>(step.retry_count) + 1;
  auto delay = error.retry_after() ? *error.retry_after() : p.backoff.delay_for(attempt);
  if (delay.count() < 0) delay = std::chrono::milliseconds(0);
  u.status = WorkflowStatus::kQueued;
  u.retry_at = now + delay;
  u.retry_count = static_cast<std::int32_t>(attempt);
  s.store->backend->update_step(s.run_id, name, u, now);
  s.wake_at = *u.retry_at;
  throw StepNotReadyError(step_label(s, name) + " failed transiently (" + error.what() +
                          "); retry " + std::to_string(attempt) + " of " +
                          std::to_string(p.max_attempts) + " at " + core::format_time(*u.retry_at));
}

void Run::pause(std::string_view reason, std::chrono::seconds resume_after) {
  auto& s = *state_;
  const std::string name = "pause:" + std::to_string(++s.pause_count);
  durable_timer(s, name, std::chrono::duration_cast<std::chrono::milliseconds>(resume_after),
                std::string(reason));
}

bool Run::cancel() {
  auto& s = *state_;
  return s.store->backend->cancel_run(s.run_id, s.store->now()).value_or(false);
}

void sleep(Run& run, std::string_view name, std::chrono::milliseconds duration) {
  auto& s = *run.state_;
  core::validate_name(name, "step name");
  durable_timer(s, std::string(name), duration, "sleep '" + std::string(name) + "'");
}

}  // namespace pgqrs
