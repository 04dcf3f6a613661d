// Tracing hooks and W3C trace context (issue 16, item 3).
//
//   struct Printer : pgqrs::TraceHook {
//     void on_event(const pgqrs::TraceEvent& e) override { std::cout << to_string(e.kind); }
//   };
//   pgqrs::install_trace_hook(store, std::make_shared<Printer>());
//   pgqrs::enqueue().message(p).to("jobs").trace_context({"00-<trace>-<span>-01"}).execute(store);
//   // a consumer's QueueMessage carries msg.traceparent / msg.tracestate
//
// A hook observes the engine: enqueue, lease, handler start/end, workflow run start/end and
// step start/end/retry. The trace context (a W3C traceparent, optional tracestate) is stored
// with each message at enqueue and returned with it when it is leased, so a consumer in any
// process continues the producer's trace; a workflow run continues the trace of its
// trigger through its message.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pgqrs/clock.h"
#include "pgqrs/store.h"

namespace pgqrs {

// A W3C trace context (https://www.w3.org/TR/trace-context/): `traceparent` is
// "<version>-<trace-id>-<parent-id>-<flags>", e.g.
// "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": 2, 32, 16 and 2 lower-case hex
// digits; the trace id and parent id are not all zeros; version ff is invalid. `tracestate`
// is opaque vendor data (at most 512 characters, printable ASCII).
struct TraceContext {
  std::string traceparent;
  std::optional<std::string> tracestate;

  // The 32-hex-digit trace id / 16-hex-digit parent (span) id of a valid traceparent.
  std::string_view trace_id() const { return std::string_view(traceparent).substr(3, 32); }
  std::string_view parent_id() const { return std::string_view(traceparent).substr(36, 16); }
};

// Throws ValidationError naming the field ("traceparent" or "tracestate") and what is wrong
// with it when `ctx` is malformed; returns normally otherwise.
void validate_trace_context(const TraceContext& ctx);

enum class TraceEventKind {
  kEnqueue,       // a message was enqueued (one event per message; a run trigger too)
  kLease,         // a message was leased by a consumer (one event per message)
  kHandlerStart,  // a queue handler is about to run on a message
  kHandlerEnd,    // ... and returned (error empty) or threw (error set)
  kRunStart,      // a workflow worker starts executing a run
  kRunEnd,        // ... and stopped: finished, paused, waiting for a retry, or failed
  kStepStart,     // a workflow step is about to execute (not when replayed from storage)
  kStepEnd,       // ... and succeeded (error empty) or failed for good (error set)
  kStepRetry,     // ... failed transiently; a retry is scheduled (retry_at set)
};
// "enqueue", "lease", "handler_start", "handler_end", "run_start", "run_end",
// "step_start", "step_end", "step_retry".
std::string_view to_string(TraceEventKind kind) noexcept;

// What a hook is told. Views and pointers are valid only during the call; copy what you
// keep. Ids that do not apply to the event are nullopt (a lease event has no run id: the
// run is looked up after the lease; run_start follows with it).
struct TraceEvent {
  TraceEventKind kind = TraceEventKind::kEnqueue;
  TimePoint at;            // the engine's clock (the store's injected Clock)
  std::string_view queue;  // the queue (a workflow's queue is named after the workflow)
  std::optional<std::int64_t> message_id;
  std::optional<std::int64_t> run_id;
  std::optional<std::int64_t> worker_id;  // producer (enqueue, if given) or consumer
  std::string_view step;                  // step events: the step name
  // Lease / handler / run events: the delivery number (read_ct, 1 = first delivery).
  // Step events: the execution number of the step (1 = first, 2 = first retry, ...).
  std::int32_t attempt = 0;
  // *_end events: time since the matching *_start event, on the engine's clock.
  std::optional<std::chrono::nanoseconds> duration;
  // *_end / step_retry events on failure: the error's type (a pgqrs error code such as
  // "validation", a workflow status such as "PAUSED" for a run that stopped without
  // finishing, or the exception's C++ type name) and its message.
  std::optional<std::string> error_type;
  std::optional<std::string> error_message;
  std::optional<TimePoint> retry_at;  // step_retry: when the step runs again
  // run_end: the run's status after this execution ("SUCCESS", "ERROR", "CANCELLED";
  // "PAUSED" or "RUNNING" when it stopped to wait and continues later).
  std::string_view status;
  // The message's stored trace context: the one just written (enqueue) or the one the
  // message carries (every other event); null when it has none.
  const TraceContext* trace = nullptr;
};

// A user-installed observer of the engine. Contract:
//   - on_event is called synchronously on the engine's thread that did the work (a poll
//     loop's thread, the caller of enqueue), possibly from several threads at once: make it
//     thread-safe.
//   - It must not throw. An exception that escapes is caught; the first one per store is
//     written to stderr, and the engine carries on as if the hook had returned.
//   - It must be quick: the engine waits for it (a lease is held meanwhile).
//   - current_context() is asked at each enqueue / workflow trigger that has no explicit
//     .trace_context(...): the context to store with the new message(s), or nullopt for
//     none. A malformed one is a ValidationError of that enqueue (naming "traceparent").
class TraceHook {
 public:
  virtual ~TraceHook() = default;
  virtual void on_event(const TraceEvent& event) = 0;
  virtual std::optional<TraceContext> current_context() { return std::nullopt; }
};

// Installs `hook` on the store (every copy of it), replacing the previous one; nullptr
// removes it. Thread-safe; events of calls already running may still reach the old hook.
// With no hook installed, the engine's cost is one relaxed atomic load per event site.
void install_trace_hook(const Store& store, std::shared_ptr<TraceHook> hook);
// The installed hook, or nullptr.
std::shared_ptr<TraceHook> trace_hook(const Store& store);

}  // namespace pgqrs
