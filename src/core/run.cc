// Run: the step protocol, durable timers (pause / sleep) and cancellation of one execution.
#include <cmath>

#include "core/run_state.h"
#include "core/run_transitions.h"
#include "core/time_format.h"
#include "core/tracer.h"
#include "core/validation.h"
#include "core/workflow_json.h"
#include "pgqrs/workflow.h"

namespace pgqrs {
namespace {

using backend::Backend;

std::string step_label(const detail::RunState& s, std::string_view name) {
  return "step '" + std::string(name) + "' of run " + std::to_string(s.run_id);
}

// The stored row of a step whose outcome is being recorded. A step this execution started
// whose row is missing lost its lazily durable start (B4) in a database crash: the start is
// written again. Otherwise a missing row is a handler bug (ValidationError).
StepRecord require_step(detail::RunState& s, std::string_view name) {
  auto step = s.store->backend->get_step(s.run_id, name);
  if (step) return *step;
  if (s.begun_steps.count(name) != 0) return s.store->backend->begin_step(s.run_id, name, s.now());
  throw ValidationError(step_label(s, name) + " was never acquired (call acquire_step first)");
}

// A step boundary (before a step or a durable timer): the run must not be cancelling, and
// this execution must still hold the run's message lease, so an execution whose lease
// lapsed never starts another step. Throws CancelledError or ConflictError.
[[noreturn]] void throw_lease_lost(detail::RunState& s) {
  s.lease_lost = true;
  throw ConflictError("run " + std::to_string(s.run_id) + ": worker " +
                      std::to_string(s.worker_id) + " no longer holds the lease of message " +
                      std::to_string(s.message_id) +
                      " (it expired; another worker may be running the run), so this "
                      "execution stops");
}

// Throws what a refused step boundary means: no run (InternalError), CANCELLING
// (CancelledError), the lease lost (ConflictError).
void check_boundary(detail::RunState& s, const Backend::RunBoundary& b) {
  if (!b.status) throw InternalError("run " + std::to_string(s.run_id) + " disappeared");
  if (*b.status == WorkflowStatus::kCancelling) {
    throw CancelledError("run " + std::to_string(s.run_id) + " is being cancelled");
  }
  if (!b.lease_held) throw_lease_lost(s);
}

// A step boundary and the step's start, in one backend call (one round trip): returns the
// step's row (inserted as RUNNING if new) or throws as check_boundary.
StepRecord begin_step_at_boundary(detail::RunState& s, std::string_view name, TimePoint now) {
  auto begun =
      s.store->backend->begin_step_at_boundary(s.run_id, name, s.message_id, s.worker_id, now);
  check_boundary(s, begun.boundary);
  return std::move(*begun.step);
}

// A durable timer step: PAUSED with retry_at = wake time until it is due, then SUCCESS.
// Returns normally once due; otherwise pauses the run and throws PausedError.
void durable_timer(detail::RunState& s, const std::string& name, std::chrono::milliseconds d,
                   const std::string& reason) {
  if (d.count() < 0) throw ValidationError(step_label(s, name) + ": duration must not be negative");
  if (!s.used_steps.insert(name).second) {
    throw ValidationError(step_label(s, name) + " is used twice in one execution");
  }
  auto& be = *s.store->backend;
  auto now = s.now();
  auto step = begin_step_at_boundary(s, name, now);
  s.reached_steps.insert(name);
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
  be.pause_run(s.run_id, std::nullopt, now);
  s.wake_at = wake;
  throw PausedError("run " + std::to_string(s.run_id) + " paused until " + core::format_time(wake) +
                    (reason.empty() ? "" : ": " + reason));
}

// Step events (pgqrs/tracing.h); each is a no-op without a trace hook.
TraceEvent step_event(const detail::RunState& s, TraceEventKind kind, std::string_view name) {
  TraceEvent e;
  e.kind = kind;
  e.at = s.now();
  e.queue = s.queue;
  e.message_id = s.message_id != 0 ? std::optional<std::int64_t>(s.message_id) : std::nullopt;
  e.run_id = s.run_id;
  e.worker_id = s.worker_id != 0 ? std::optional<std::int64_t>(s.worker_id) : std::nullopt;
  e.step = name;
  e.trace = s.trace ? &*s.trace : nullptr;
  return e;
}

void trace_step_start(detail::RunState& s, std::string_view name, std::int32_t attempt) {
  if (!s.store->tracer.active()) return;
  TraceEvent e = step_event(s, TraceEventKind::kStepStart, name);
  e.attempt = attempt;
  s.steps_started.insert_or_assign(std::string(name), detail::RunState::StepStart{e.at, attempt});
  s.store->tracer.emit(e);
}

// step_end (retry_at empty) or step_retry; `error` empty on success.
void trace_step_end(detail::RunState& s, std::string_view name, const json* error,
                    std::optional<TimePoint> retry_at = std::nullopt) {
  if (!s.store->tracer.active()) return;
  TraceEvent e =
      step_event(s, retry_at ? TraceEventKind::kStepRetry : TraceEventKind::kStepEnd, name);
  if (auto it = s.steps_started.find(name); it != s.steps_started.end()) {
    e.duration = e.at - it->second.at;
    e.attempt = it->second.attempt;
    s.steps_started.erase(it);
  }
  if (error) {
    const json* type = error->is_object() && error->contains("type") ? &error->at("type") : nullptr;
    const json* msg =
        error->is_object() && error->contains("message") ? &error->at("message") : nullptr;
    e.error_type = type && type->is_string() ? type->get<std::string>()
                   : retry_at                ? std::string("transient")
                                             : std::string("step_failed");
    e.error_message = msg && msg->is_string() ? msg->get<std::string>() : error->dump();
  }
  e.retry_at = retry_at;
  s.store->tracer.emit(e);
}

}  // namespace

StepRecord detail::enter_step(RunState& s, const std::string& name) {
  if (!s.used_steps.insert(name).second) {
    throw ValidationError(step_label(s, name) + " is used twice in one execution");
  }
  auto step = begin_step_at_boundary(s, name, s.now());
  s.reached_steps.insert(name);
  return step;
}

std::string detail::next_call_step(RunState& s, std::string_view kind) {
  auto it = s.call_counts.find(kind);
  if (it == s.call_counts.end()) it = s.call_counts.emplace(std::string(kind), 0).first;
  return std::string(kind) + ":" + std::to_string(++it->second);
}

void detail::suspend(RunState& s, backend::RunWait wait, TimePoint wake_at,
                     const std::string& what) {
  s.store->backend->pause_run(s.run_id, std::nullopt, s.now());
  s.wake_at = wake_at;
  s.wait = std::move(wait);
  throw PausedError("run " + std::to_string(s.run_id) + " " + what + " (at the latest until " +
                    core::format_time(wake_at) + ")");
}

void detail::check_lease(RunState& s) {
  if (s.message_id == 0) return;
  if (!s.store->backend->run_boundary(s.run_id, s.message_id, s.worker_id, s.now()).lease_held) {
    throw_lease_lost(s);
  }
}

std::int64_t Run::id() const { return state_->run_id; }
const json& Run::input() const { return state_->input; }
const Store& Run::store() const { return state_->handle; }
TimePoint Run::current_time() const { return state_->now(); }

RunRecord Run::record() const {
  auto r = state_->store->backend->get_run(state_->run_id);
  if (!r) throw InternalError("run " + std::to_string(state_->run_id) + " disappeared");
  return *r;
}

WorkflowStatus Run::status() const { return record().status; }

std::optional<TraceContext> Run::trace_context() const { return state_->trace; }

std::vector<StepRecord> Run::steps() const {
  return state_->store->backend->list_steps(state_->run_id);
}

// Depends only on the stored step row (the original pgqrs rule): may be called any number
// of times for a name. The "used twice in one execution" check applies only to executions
// driven by a workflow worker (message_id != 0), where a repeated name is a handler bug.
StepResult Run::acquire_step(std::string_view name) {
  auto& s = *state_;
  core::validate_name(name, "step name");
  const bool worker_driven = s.message_id != 0;
  if (worker_driven && s.used_steps.count(name) != 0) {
    throw ValidationError(step_label(s, name) + " is used twice in one execution; step names " +
                          "must be unique within a run");
  }
  auto& be = *s.store->backend;
  const auto now = s.now();
  auto step = begin_step_at_boundary(s, name, now);
  if (worker_driven) s.used_steps.emplace(name);
  s.reached_steps.emplace(name);
  switch (step.status) {
    case WorkflowStatus::kSuccess:
      return StepResult{StepResult::Status::kSkipped, step.output.value_or(json())};
    case WorkflowStatus::kError:
    case WorkflowStatus::kQueued:  // a retry wait stored before ERROR + retry_at (D-entry)
      if (!step.retry_at) {
        throw RetriesExhaustedError(step_label(s, name) + " failed permanently (no retry left): " +
                                    (step.error ? step.error->dump() : std::string("(no error)")));
      }
      if (*step.retry_at > now) {
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
    u.clear_error = true;
    be.update_step(s.run_id, name, u, now);
  }
  s.begun_steps.emplace(name);
  trace_step_start(s, name, step.retry_count + 1);
  return StepResult{StepResult::Status::kExecute, json()};
}

// One write: update_step never overwrites a recorded success and keeps retry_count when it
// is not given. Only when nothing applied is the step read, to tell "succeeded before" (a
// no-op) from "never acquired" (an error).
void Run::complete_step(std::string_view name, const json& output) {
  auto& s = *state_;
  const std::string text = core::serialise_result(output, step_label(s, name) + " output");
  Backend::StepUpdate u;
  u.status = WorkflowStatus::kSuccess;
  u.output = text;
  if (s.store->backend->update_step(s.run_id, name, u, s.now())) {
    trace_step_end(s, name, nullptr);
    return;
  }
  // Nothing applied: succeeded before (a no-op), never acquired (ValidationError), or a
  // start lost in a database crash (B4: the row is written again, then the success).
  const auto step = require_step(s, name);
  if (step.status != WorkflowStatus::kSuccess &&
      s.store->backend->update_step(s.run_id, name, u, s.now())) {
    trace_step_end(s, name, nullptr);
  }
}

void Run::fail_step(std::string_view name, const json& error) {
  auto& s = *state_;
  auto step = require_step(s, name);
  Backend::StepUpdate u;
  u.status = WorkflowStatus::kError;
  u.error = core::serialise_result(error, step_label(s, name) + " error", /*lenient=*/true);
  u.retry_count = step.retry_count;
  s.store->backend->update_step(s.run_id, name, u, s.now());
  trace_step_end(s, name, &error);
}

std::optional<TimePoint> Run::record_step_transient(std::string_view name, const json& error,
                                                    std::optional<std::chrono::milliseconds> delay,
                                                    const std::optional<StepRetryPolicy>& policy) {
  auto& s = *state_;
  const StepRetryPolicy& p = policy ? *policy : s.workflow_policy;
  if (delay && delay->count() < 0) {
    throw ValidationError(step_label(s, name) + ": retry delay must not be negative");
  }
  auto step = require_step(s, name);
  const auto now = s.now();
  Backend::StepUpdate u;
  u.status = WorkflowStatus::kError;
  u.error = core::serialise_result(error, step_label(s, name) + " error", /*lenient=*/true);
  if (static_cast<std::uint32_t>(step.retry_count) >= p.max_attempts) {
    u.retry_count = step.retry_count;  // retry_at stays NULL: a final failure
    s.store->backend->update_step(s.run_id, name, u, now);
    trace_step_end(s, name, &error);
    return std::nullopt;
  }
  const auto attempt = static_cast<std::uint32_t>(step.retry_count) + 1;
  u.retry_at = now + (delay ? *delay : p.backoff.delay_for(attempt));
  u.retry_count = static_cast<std::int32_t>(attempt);
  s.store->backend->update_step(s.run_id, name, u, now);
  s.wake_at = *u.retry_at;
  trace_step_end(s, name, &error, u.retry_at);
  return u.retry_at;
}

void Run::fail_step_transient(std::string_view name, const TransientStepError& error,
                              const std::optional<StepRetryPolicy>& policy) {
  auto& s = *state_;
  std::optional<std::chrono::milliseconds> delay = error.retry_after();
  if (delay && delay->count() < 0) delay = std::chrono::milliseconds(0);
  json err = {{"message", error.what()}, {"transient", true}};
  auto retry_at = record_step_transient(name, err, delay, policy);
  auto step = require_step(s, name);
  if (!retry_at) {
    throw RetriesExhaustedError(step_label(s, name) + " failed after " +
                                std::to_string(step.retry_count) + " retries: " + error.what());
  }
  throw StepNotReadyError(step_label(s, name) + " failed transiently (" + error.what() +
                          "); retry " + std::to_string(step.retry_count) + " at " +
                          core::format_time(*retry_at));
}

void Run::pause(std::string_view reason, std::chrono::seconds resume_after) {
  auto& s = *state_;
  const std::string name = "pause:" + std::to_string(++s.pause_count);
  durable_timer(s, name, std::chrono::duration_cast<std::chrono::milliseconds>(resume_after),
                std::string(reason));
}

bool Run::pause_run(std::string_view message, std::chrono::seconds resume_after) {
  auto& s = *state_;
  if (resume_after.count() < 0) {
    throw ValidationError("run " + std::to_string(s.run_id) +
                          ": resume_after must not be negative");
  }
  const auto now = s.now();
  const json error = {{"message", std::string(message)}, {"resume_after", resume_after.count()}};
  if (!s.store->backend->pause_run(s.run_id, error.dump(), now)) return false;
  s.wake_at = now + resume_after;
  return true;
}

bool Run::cancel() {
  auto& s = *state_;
  return core::cancel_run_tree(*s.store->backend, s.run_id, s.now()).value_or(false);
}

void sleep(Run& run, std::string_view name, std::chrono::milliseconds duration) {
  auto& s = *run.state_;
  core::validate_name(name, "step name");
  durable_timer(s, std::string(name), duration, "sleep '" + std::string(name) + "'");
}

}  // namespace pgqrs
