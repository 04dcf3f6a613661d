// Durable workflows (SPEC §5): multi-step functions whose completed steps are persisted, so
// a run that crashed resumes at its first unfinished step.
//
//   pgqrs::WorkflowDef archive("archive_files", [](pgqrs::Run& run, const pgqrs::json& in) {
//     auto files = pgqrs::workflow_step(run, "list_files", [&] {
//       return std::vector<std::string>{in["path"]};
//     });
//     auto zip = pgqrs::workflow_step(run, "create_archive", [&] { return files[0] + ".zip"; });
//     return pgqrs::json{{"archive", zip}};
//   });
//   pgqrs::workflow().name(archive).create(store);                  // idempotent
//   auto msg = pgqrs::workflow().name(archive).trigger({{"path", "/tmp/a"}}).execute(store);
//   // elsewhere: pgqrs::workflow().name(archive).consumer(c).poll(store);
//   auto out = pgqrs::run().message(msg).store(store).result(std::chrono::seconds(30));
//
// Guarantees: a step recorded as succeeded never runs again (its stored output is returned
// instead); a step interrupted by a crash runs again (at-least-once body, exactly-once
// result). Only the worker holding the run's message lease executes the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pgqrs/dequeue.h"
#include "pgqrs/error.h"
#include "pgqrs/records.h"
#include "pgqrs/store.h"
#include "pgqrs/tracing.h"
#include "pgqrs/worker.h"

namespace pgqrs {

// Run and step statuses (SPEC §5). Steps use the same names: a step waiting for a retry is
// QUEUED, a durable sleep/pause step not yet due is PAUSED.
enum class WorkflowStatus { kQueued, kRunning, kPaused, kCancelling, kCancelled, kSuccess, kError };
std::string_view to_string(WorkflowStatus s) noexcept;  // "QUEUED", "RUNNING", ...
std::optional<WorkflowStatus> parse_workflow_status(std::string_view text) noexcept;
// SUCCESS, ERROR or CANCELLED.
bool is_terminal(WorkflowStatus s) noexcept;

struct WorkflowRecord {
  std::int64_t id = 0;
  std::string name;
  std::int64_t queue_id = 0;
  TimePoint created_at;
};

struct RunRecord {
  std::int64_t id = 0;
  std::int64_t workflow_id = 0;
  std::string workflow_name;
  std::optional<std::int64_t> message_id;
  WorkflowStatus status = WorkflowStatus::kQueued;
  json input;
  std::optional<json> output;
  std::optional<json> error;
  TimePoint created_at;
  TimePoint updated_at;
};

struct StepRecord {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::string step_name;
  WorkflowStatus status = WorkflowStatus::kRunning;
  std::optional<json> input;
  std::optional<json> output;
  std::optional<json> error;
  std::optional<TimePoint> retry_at;
  std::int32_t retry_count = 0;
  TimePoint created_at;
  TimePoint updated_at;
};

// Which runs Admin::list_runs returns: newest first (created_at, then id), at most `limit`.
struct RunFilter {
  std::optional<std::string> workflow;  // by name
  std::optional<WorkflowStatus> status;
  std::optional<TimePoint> since;  // created_at >= since
  std::uint32_t limit = 100;
  // Paging: only runs listed after run `before_id` (pass the last id of the previous page;
  // positive). Runs are created in id order, so that is runs with id < before_id; if the run
  // is gone, the newest run with a smaller id stands in for it.
  std::optional<std::int64_t> before_id;
};

// Delay before retry number `attempt` (1 = first retry) of a failed step.
struct BackoffStrategy {
  enum class Kind { kFixed, kExponential, kExponentialWithJitter };
  Kind kind = Kind::kExponentialWithJitter;
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{60000};

  static BackoffStrategy fixed(std::chrono::milliseconds delay);
  static BackoffStrategy exponential(std::chrono::milliseconds base, std::chrono::milliseconds cap);
  static BackoffStrategy exponential_with_jitter(std::chrono::milliseconds base,
                                                 std::chrono::milliseconds cap);
  // fixed: base; exponential: min(cap, base * 2^(attempt-1)); with jitter: uniformly random
  // in [d/2, d] of the exponential d.
  std::chrono::milliseconds delay_for(std::uint32_t attempt) const;
};

// How a step that throws TransientStepError is retried: up to `max_attempts` retries after
// the first failure (so at most max_attempts + 1 executions), waiting `backoff` (or the
// error's retry_after) between them. Default: 3 retries, exponential with jitter, 1 s .. 60 s.
struct StepRetryPolicy {
  std::uint32_t max_attempts = 3;
  BackoffStrategy backoff;
};

class Run;
class ChildRun;  // pgqrs/coordination.h
using WorkflowHandler = std::function<json(Run& run, const json& input)>;

// A workflow definition: a name (also the name of its queue) and a handler.
class WorkflowDef {
 public:
  WorkflowDef(std::string name, WorkflowHandler handler, StepRetryPolicy retry = {})
      : name_(std::move(name)), handler_(std::move(handler)), retry_(retry) {}
  const std::string& name() const { return name_; }
  const WorkflowHandler& handler() const { return handler_; }
  const StepRetryPolicy& retry_policy() const { return retry_; }

 private:
  std::string name_;
  WorkflowHandler handler_;
  StepRetryPolicy retry_;
};

// Outcome of Run::acquire_step.
struct StepResult {
  enum class Status { kExecute, kSkipped };
  Status status = Status::kExecute;
  json value;  // the stored output when kSkipped
};

struct RunAccess;  // the engine's access to a Run (src/core); not for users
class RunBuilder;

// One execution of a workflow run, handed to the handler. Not thread-safe: use it from the
// handler's thread. Methods that record progress throw pgqrs errors that the workflow
// worker understands (PausedError, StepNotReadyError, CancelledError, RetriesExhaustedError);
// a handler should let those propagate.
class Run {
 public:
  std::int64_t id() const;
  const json& input() const;
  const Store& store() const;
  // The engine's clock (the store's injected clock).
  TimePoint current_time() const;
  RunRecord record() const;  // fresh from storage
  WorkflowStatus status() const;
  std::vector<StepRecord> steps() const;
  // The W3C trace context of the run's message (stored by its trigger, pgqrs/tracing.h), so
  // work done for the run continues the trigger's trace; nullopt when it has none (or, for a
  // Run from RunBuilder::execute(), when no trace hook was installed to make it look).
  std::optional<TraceContext> trace_context() const;

  // Low-level step protocol (workflow_step uses it; the Python StepGuard maps onto it).
  // acquire_step depends only on the stored step row: kSkipped with the stored output if the
  // step succeeded before; kExecute if it has no row (one is inserted RUNNING), is RUNNING,
  // or is ERROR with a retry_at that has come (back to RUNNING, error cleared, retry_count
  // kept). Throws StepNotReadyError if it is ERROR with a later retry_at,
  // RetriesExhaustedError if it is ERROR with no retry_at (a final failure),
  // CancelledError if the run is being cancelled, ValidationError if `name` is empty or --
  // in an execution driven by a workflow worker only -- was already used in it.
  StepResult acquire_step(std::string_view name);
  // Records success (output must be valid JSON: finite numbers, valid UTF-8; otherwise
  // SerializationError and nothing is recorded).
  void complete_step(std::string_view name, const json& output);
  // Records a permanent failure of the step (the run then fails).
  void fail_step(std::string_view name, const json& error);
  // Records a transient failure without throwing: the step becomes ERROR with `error`; if
  // retries are left (policy: the step's, else the workflow's) retry_at = now + `delay`
  // (default: the policy's backoff) and retry_count + 1, and retry_at is returned; else
  // retry_at stays NULL and nullopt is returned. ValidationError for a negative delay.
  std::optional<TimePoint> record_step_transient(
      std::string_view name, const json& error,
      std::optional<std::chrono::milliseconds> delay = std::nullopt,
      const std::optional<StepRetryPolicy>& policy = {});
  // record_step_transient, then throws StepNotReadyError (a retry is scheduled) or
  // RetriesExhaustedError (none left).
  [[noreturn]] void fail_step_transient(std::string_view name, const TransientStepError& error,
                                        const std::optional<StepRetryPolicy>& policy = {});

  // Durable pause: the run becomes PAUSED and its message invisible until resume_after has
  // passed; then it resumes (finished steps are not re-run). Throws PausedError to unwind
  // the handler. Replaying past a pause that already elapsed returns normally.
  void pause(std::string_view reason, std::chrono::seconds resume_after);
  // The original pgqrs Run.pause: records and returns (never throws for the pause itself).
  // QUEUED|RUNNING|PAUSED -> PAUSED with error {"message", "resume_after": seconds}; no step
  // row, the message's lease is untouched. If the handler then throws PausedError, a
  // workflow worker hides the run's message until now + resume_after. False for a run that
  // is finished or being cancelled; ValidationError for a negative resume_after.
  bool pause_run(std::string_view message, std::chrono::seconds resume_after);
  // QUEUED|RUNNING|PAUSED -> CANCELLING; false (nothing changed) for a finished run.
  bool cancel();

  // Safe upgrades (docs/workflows.md, "Safe upgrades"): guard a code change with
  //   if (run.patched("fix-rounding")) { new path } else { old path }
  // True when the run reaches this point for the first time on code that has the patch
  // (no step the run recorded lies beyond it), false when an execution on older code had
  // already gone past it (the run recorded a step this execution has not reached yet), so
  // a deployed fix never sends an in-flight run down a path its history does not match.
  // The answer is recorded as the step "patch:<name>": every later execution gets the
  // same one. Like a step name, a patch name is used once per execution (a second call in a
  // worker-driven execution is a ValidationError); guard each change with its own name.
  // ValidationError for an empty or invalid name; the step boundary errors of
  // acquire_step (CancelledError, ConflictError when the lease was lost).
  bool patched(std::string_view name);

  // ---- Workflows that talk (pgqrs/coordination.h; docs/workflows.md). Each call below is
  // recorded as a step named "<kind>:<n>" (n counts this execution's calls of that kind), so
  // a replay returns what the first execution got and does nothing twice; like steps they
  // are step boundaries (CancelledError, ConflictError when the lease was lost).
  //
  // The oldest unread message of `topic` sent to this run (pgqrs::send, Run::send), each
  // message received once, in send order per topic (step "recv:<n>"). With none there the
  // run waits durably: PausedError unwinds the handler, the run is PAUSED and its message
  // deferred until a send wakes it or `timeout` passes on the engine's clock; then recv
  // returns nullopt (recorded: a replay gets nullopt too). ValidationError for a bad topic
  // or a negative timeout.
  std::optional<json> recv(std::string_view topic, std::chrono::milliseconds timeout);
  // Sends to run `run_id` exactly once (step "send:<n>"); returns the message id.
  // ValidationError for an unknown run, a bad topic or a payload over the limit.
  std::int64_t send(std::int64_t run_id, std::string_view topic, const json& payload);
  // Publishes `value` as the latest value of event `key` (step "event:<n>"; pgqrs::get_event).
  void set_event(std::string_view key, const json& value);
  // Appends to stream `key` (step "stream:<n>"), and ends it (step "stream-end:<n>"):
  // pgqrs::StreamReader reads it. A stream also ends when the run finishes.
  void write_stream(std::string_view key, const json& value);
  void close_stream(std::string_view key);
  // Starts a run of workflow `workflow` (registered) with `input` as a child of this run,
  // exactly once (step "child:<n>": a replay gets the same child). ChildRun::result waits
  // for it durably. Cancelling this run cancels its unfinished children.
  ChildRun start_child(std::string_view workflow, const json& input);
  // The outputs of `children`, in order, once all have finished (one durable wait); if one
  // failed or was cancelled, ExecutionFailedError with the first such child's error.
  std::vector<json> gather(const std::vector<ChildRun>& children);

  // Driving a run by hand (a Run from RunBuilder::execute(), outside a workflow worker; the
  // Python bindings' Run.start/success/fail). A workflow worker does all three itself: on a
  // Run it hands to a handler, start() is a no-op (the run is RUNNING) and complete()/fail()
  // only check the value and return true -- the worker records the outcome from what the
  // handler returns or throws.
  // start: QUEUED|PAUSED|RUNNING -> RUNNING. ValidationError naming the state for a run that
  // is finished or being cancelled (a CANCELLING run is moved to CANCELLED first).
  void start();
  // RUNNING -> SUCCESS with `output` (CANCELLED instead if a cancel was requested meanwhile).
  // False (nothing changed) if the run is not running. SerializationError, with nothing
  // recorded, for an output that is not valid JSON (non-finite number, invalid UTF-8).
  bool complete(const json& output);
  // RUNNING -> ERROR with `error` (CANCELLED if a cancel was requested). False if not running.
  bool fail(const json& error);
  // A handle on the same run that takes "now" from `t` instead of the store's clock (for
  // acquire_step / fail_step / pause at a given time). Steps already used in this execution
  // stay used in the copy; the copies are otherwise independent.
  Run with_time(TimePoint t) const;

  // Opaque: the engine's state of this execution.
  class State;

 private:
  friend struct RunAccess;
  friend class RunBuilder;
  friend class ChildRun;
  friend void sleep(Run& run, std::string_view name, std::chrono::milliseconds duration);
  explicit Run(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// Durable timer named `name` within the run: the first time, the run is paused until now +
// duration (PausedError unwinds the handler); once due, later executions pass straight on.
void sleep(Run& run, std::string_view name, std::chrono::milliseconds duration);

// True for the control-flow errors a step body must let through rather than turn into a
// step failure: PausedError, StepNotReadyError, CancelledError, RetriesExhaustedError, and
// ConnectionError / TimeoutError (the step's outcome is not known), StorageFullError
// (recording the failure would fail too; the step is attempted again once space is freed)
// and a retryable ConflictError (a write refused by a concurrent writer and not applied, so
// recording the failure could land where the success did not; decision H20).
bool is_engine_signal(const Error& e) noexcept;

// Runs `fn` as step `name` of `run` unless it succeeded before, in which case its stored
// output is returned (converted back to fn's result type). fn's result must be
// JSON-serialisable (nlohmann to_json/from_json); void is stored as null. A
// TransientStepError from fn is retried under `policy` (or the workflow's policy); any
// other exception fails the step and is rethrown.
template <class F>
auto workflow_step(Run& run, std::string_view name, F&& fn,
                   std::optional<StepRetryPolicy> policy = std::nullopt)
    -> std::invoke_result_t<F&> {
  using T = std::invoke_result_t<F&>;
  auto acquired = run.acquire_step(name);
  if (acquired.status == StepResult::Status::kSkipped) {
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      try {
        return acquired.value.template get<T>();
      } catch (const json::exception& e) {
        throw SerializationError(
            "step '" + std::string(name) +
            "': stored output does not convert back to the step's type: " + e.what());
      }
    }
  }
  try {
    if constexpr (std::is_void_v<T>) {
      fn();
      run.complete_step(name, nullptr);
      return;
    } else {
      T value = fn();
      json out;
      try {
        out = value;
      } catch (const json::exception& e) {
        throw SerializationError("step '" + std::string(name) +
                                 "': output is not JSON-serialisable: " + e.what());
      }
      run.complete_step(name, out);
      return value;
    }
  } catch (const TransientStepError& e) {
    run.fail_step_transient(name, e, policy);
  } catch (const Error& e) {
    if (!is_engine_signal(e)) run.fail_step(name, json{{"message", e.what()}});
    throw;
  } catch (const std::exception& e) {
    run.fail_step(name, json{{"message", e.what()}});
    throw;
  }
}

// pgqrs::workflow(): register, trigger and serve a workflow.
class WorkflowBuilder {
 public:
  WorkflowBuilder& name(const WorkflowDef& def);
  WorkflowBuilder& name(std::string name);  // for create/trigger without a handler
  WorkflowBuilder& consumer(const Consumer& c);
  WorkflowBuilder& trigger(json input);
  // Flow fields of the run's message (pgqrs/queue_options.h). With a dedup key held by a
  // live run message of the workflow, execute() creates nothing and returns that message
  // (an idempotent trigger: run().message(m) is the existing run).
  WorkflowBuilder& priority(std::int32_t priority);
  WorkflowBuilder& dedup_key(std::string key);
  WorkflowBuilder& concurrency_key(std::string key);
  // The W3C trace context stored with the run's message (pgqrs/tracing.h), so the run
  // continues the trigger's trace; without it, the trace hook's current_context(), if any.
  WorkflowBuilder& trace_context(TraceContext ctx);
  // poll(): stop conditions, as in DequeueBuilder.
  WorkflowBuilder& poll_interval(std::chrono::milliseconds interval);
  WorkflowBuilder& until(std::chrono::milliseconds deadline);
  WorkflowBuilder& until_empty(bool enabled = true);
  WorkflowBuilder& stop_token(std::stop_token token);

  // Registers the definition and a queue of the same name; a no-op if it exists.
  WorkflowRecord create(const Store& store) const;
  // Creates the run (QUEUED) and its message, whose payload is `input` (as in the original
  // pgqrs; run().message(m) finds the run from the message id), in one transaction; returns
  // the message. ValidationError for an unregistered workflow.
  QueueMessage execute(const Store& store) const;
  // Serves runs until stopped (see DequeueHandler::poll). Needs a WorkflowDef with a handler.
  PollStats poll(const Store& store) const;

 private:
  std::string name_;
  std::optional<WorkflowDef> def_;
  std::optional<Consumer> consumer_;
  std::optional<json> input_;
  MessageOptions flow_;
  std::optional<TraceContext> trace_;
  DequeueBuilder::Options loop_;
};

inline WorkflowBuilder workflow() { return WorkflowBuilder(); }

// pgqrs::run(): wait for or read a run's outcome.
class RunBuilder {
 public:
  RunBuilder& message(const QueueMessage& msg);
  RunBuilder& id(std::int64_t run_id);
  RunBuilder& store(const Store& store);
  // The output once the run is SUCCESS; ExecutionFailedError (with the recorded error) for
  // ERROR, CancelledError for CANCELLED, TimeoutError after `timeout`.
  json result(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) const;
  // The output if finished successfully, nullopt if not finished yet; throws as result().
  std::optional<json> get() const;
  RunRecord record() const;
  // A handle for driving the run by hand (Run::start, acquire_step, complete, ...); nothing
  // is changed until it is used. ValidationError if the run does not exist.
  Run execute() const;

 private:
  std::int64_t resolve() const;
  std::optional<std::int64_t> run_id_;
  std::optional<std::int64_t> message_id_;
  std::optional<Store> store_;
};

inline RunBuilder run() { return RunBuilder(); }

}  // namespace pgqrs
