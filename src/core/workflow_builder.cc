// pgqrs::workflow() and pgqrs::run(): registering, triggering and serving workflows, and
// waiting for a run's outcome.
#include <algorithm>
#include <atomic>

#include "core/poll_session.h"
#include "core/run_watch.h"
#include "core/store_state.h"
#include "core/validation.h"
#include "core/workflow_worker.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

WorkflowBuilder& WorkflowBuilder::name(const WorkflowDef& def) {
  def_ = def;
  name_ = def.name();
  return *this;
}
WorkflowBuilder& WorkflowBuilder::name(std::string name) {
  name_ = std::move(name);
  return *this;
}
WorkflowBuilder& WorkflowBuilder::consumer(const Consumer& c) {
  consumer_ = c;
  return *this;
}
WorkflowBuilder& WorkflowBuilder::trigger(json input) {
  input_ = std::move(input);
  return *this;
}
WorkflowBuilder& WorkflowBuilder::trace_context(TraceContext ctx) {
  trace_ = std::move(ctx);
  return *this;
}
WorkflowBuilder& WorkflowBuilder::poll_interval(std::chrono::milliseconds interval) {
  loop_.poll_interval = interval;
  return *this;
}
WorkflowBuilder& WorkflowBuilder::until(std::chrono::milliseconds deadline) {
  loop_.until = deadline;
  return *this;
}
WorkflowBuilder& WorkflowBuilder::until_empty(bool enabled) {
  loop_.until_empty = enabled;
  return *this;
}
WorkflowBuilder& WorkflowBuilder::stop_token(std::stop_token token) {
  loop_.stop = std::move(token);
  return *this;
}

WorkflowRecord WorkflowBuilder::create(const Store& store) const {
  core::validate_name(name_, "workflow name");
  auto& s = *StoreAccess::state(store);
  return s.backend->create_workflow(name_, s.now());
}

WorkflowBuilder& WorkflowBuilder::priority(std::int32_t priority) {
  flow_.priority = priority;
  return *this;
}

WorkflowBuilder& WorkflowBuilder::dedup_key(std::string key) {
  flow_.dedup_key = std::move(key);
  return *this;
}

WorkflowBuilder& WorkflowBuilder::concurrency_key(std::string key) {
  flow_.concurrency_key = std::move(key);
  return *this;
}

QueueMessage WorkflowBuilder::execute(const Store& store) const {
  core::validate_name(name_, "workflow name");
  if (!input_) {
    throw ValidationError("workflow '" + name_ + "': nothing to execute (call .trigger(input))");
  }
  auto& s = *StoreAccess::state(store);
  auto text = core::validate_payload(*input_, s.config.validation, "workflow input");
  backend::MessageTrace trace;
  if (auto ctx = s.tracer.context_for_enqueue(trace_)) {
    trace.traceparent = std::move(ctx->traceparent);
    trace.tracestate = std::move(ctx->tracestate);
  }
  validate(flow_, "workflow '" + name_ + "' trigger");
  s.limiter.acquire(1, s.now());
  auto triggered = s.backend->trigger_run(name_, text, s.now(), flow_, trace);
  s.activity.notify(name_);
  if (s.tracer.active()) {
    const auto ctx = core::trace_of(triggered.message);
    TraceEvent e;
    e.kind = TraceEventKind::kEnqueue;
    e.at = triggered.message.enqueued_at;
    e.queue = name_;
    e.message_id = triggered.message.id;
    e.run_id = triggered.run.id;
    e.trace = ctx ? &*ctx : nullptr;
    s.tracer.emit(e);
  }
  return triggered.message;
}

PollStats WorkflowBuilder::poll(const Store& store) const {
  if (!def_ || !def_->handler()) {
    throw ValidationError("workflow '" + name_ +
                          "': poll needs a definition with a handler (.name(WorkflowDef))");
  }
  auto opts = loop_;
  opts.queue = name_;
  opts.consumer = consumer_;
  auto r = core::resolve(opts, store);
  return core::serve_workflow(*def_, r);
}

// ---- run() ------------------------------------------------------------------------------

RunBuilder& RunBuilder::message(const QueueMessage& msg) {
  message_id_ = msg.id;  // the run is found from the message id (the payload is the input)
  return *this;
}
RunBuilder& RunBuilder::id(std::int64_t run_id) {
  run_id_ = run_id;
  return *this;
}
RunBuilder& RunBuilder::store(const Store& store) {
  store_ = store;
  return *this;
}

std::int64_t RunBuilder::resolve() const {
  if (!store_) throw ValidationError("run(): no store given (call .store(store))");
  if (run_id_) return *run_id_;
  if (message_id_) {
    auto run = StoreAccess::state(*store_)->backend->find_run_by_message(*message_id_);
    if (!run) {
      throw ValidationError("message " + std::to_string(*message_id_) +
                            " does not belong to a workflow run");
    }
    return run->id;
  }
  throw ValidationError("run(): no run given (call .message(msg) or .id(run_id))");
}

RunRecord RunBuilder::record() const {
  const auto id = resolve();
  auto run = StoreAccess::state(*store_)->backend->get_run(id);
  if (!run) throw ValidationError("run " + std::to_string(id) + " not found");
  return *run;
}

namespace {

// The outcome of a finished run: output, or the error it ended with.
std::optional<json> outcome(const RunRecord& run) {
  switch (run.status) {
    case WorkflowStatus::kSuccess:
      return run.output.value_or(json());
    case WorkflowStatus::kError:
      throw ExecutionFailedError("run " + std::to_string(run.id) + " failed: " +
                                 (run.error ? run.error->dump() : std::string("(no error)")));
    case WorkflowStatus::kCancelled:
      throw CancelledError("run " + std::to_string(run.id) + " was cancelled");
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<json> RunBuilder::get() const { return outcome(record()); }

json RunBuilder::result(std::chrono::milliseconds timeout) const {
  if (timeout.count() < 0) throw ValidationError("result(): timeout must not be negative");
  auto run = record();  // validates the run and the store first
  if (auto out = outcome(run)) return *out;
  auto& s = *StoreAccess::state(*store_);
  const auto deadline = s.now() + timeout;
  std::optional<json> out;
  const bool finished = core::watch_runs(s, deadline, [&] {
    run = record();
    out = outcome(run);
    return out.has_value();
  });
  if (finished) return *out;
  throw TimeoutError("run " + std::to_string(run.id) + " did not finish within " +
                     std::to_string(timeout.count()) + " ms (status " +
                     std::string(to_string(run.status)) + ")");
}

}  // namespace pgqrs
