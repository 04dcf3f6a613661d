#include "core/workflow_worker.h"

#include <limits>

#include "core/messages.h"
#include "core/run_state.h"
#include "core/run_transitions.h"
#include "core/tracer.h"
#include "core/workflow_json.h"

namespace pgqrs::core {
namespace {

// How long a worker leaves alone a run of another app version that it leased (decision C27).
constexpr std::chrono::seconds kOtherVersionRecheck{1};

// kRetry: storage trouble, not a verdict on the run -- the message is given back for a
// prompt retry without counting a failed delivery (see give_back).
enum class Disposition { kArchive, kDefer, kLeave, kRetry };

struct Execution {
  Disposition disposition = Disposition::kArchive;
  TimePoint wake_at;
  bool succeeded = false;
  // kDefer of a run that waits (recv, a child's result): deferred with defer_waiting_run,
  // which wakes it at once if what it waits for arrived meanwhile.
  std::optional<backend::RunWait> wait;
};

json error_json(const std::exception& e) {
  json j = {{"message", e.what()}};
  if (const auto* pe = dynamic_cast<const Error*>(&e))
    j["code"] = std::string(to_string(pe->code()));
  return j;
}

// Records the end of a run and says what to do with its message. A run asked to cancel
// while its handler finished ends CANCELLED (the end of the handler is a step boundary too).
// If the run cannot be finished because it is PAUSED (the handler swallowed the PausedError
// of a pause or sleep and returned), the pause stands: the message is deferred to the wake
// time and the handler runs again then, so the run is never left PAUSED without a message.
Execution finish(detail::StoreState& s, const detail::RunState& state, WorkflowStatus status,
                 const std::optional<std::string>& output,
                 const std::optional<std::string>& error) {
  Execution ex;
  if (const auto stored =
          core::finish_run(*s.backend, state.run_id, status, output, error, s.now())) {
    ex.succeeded = *stored == WorkflowStatus::kSuccess;
    return ex;
  }
  const auto current = s.backend->get_run(state.run_id);
  if (current && current->status == WorkflowStatus::kPaused) {
    ex.disposition = Disposition::kDefer;
    ex.wake_at = state.wake_at.value_or(s.now());
    ex.wait = state.wait;
  }
  return ex;
}

std::optional<std::int64_t> run_id_of(detail::StoreState& s, const QueueMessage& msg) {
  // The payload is the run's input (as in the original pgqrs): the run is found from the
  // message id.
  auto run = s.backend->find_run_by_message(msg.id);
  if (run) return run->id;
  return std::nullopt;
}

// Executes a run that start_run moved to RUNNING.
Execution execute_started(const WorkflowDef& def, ResolvedDequeue& r, const QueueMessage& msg,
                          const std::optional<std::int64_t>& run_id, backend::RunStart& start) {
  auto& s = *r.store;
  Execution ex;
  auto state = std::make_shared<detail::RunState>();
  state->store = r.store;
  state->handle = StoreAccess::make(r.store);
  state->run_id = *run_id;
  state->message_id = msg.id;
  state->worker_id = r.worker;
  state->input = start.run.input;
  state->workflow_policy = def.retry_policy();
  state->queue = r.queue;
  state->trace = trace_of(msg);
  Run run = RunAccess::make(state);
  // A handler that lost its lease (detail::check_lease) stops wherever it is; its message
  // now belongs to another worker, so it is left alone and nothing is recorded.
  const Execution leave{Disposition::kLeave, {}, false, std::nullopt};
  try {
    json output = def.handler()(run, state->input);
    if (state->lease_lost) return leave;
    detail::check_lease(*state);  // the end of the handler is a step boundary
    std::string text;
    try {
      text = serialise_result(output, "output of run " + std::to_string(*run_id));
    } catch (const SerializationError& e) {
      return finish(s, *state, WorkflowStatus::kError, std::nullopt, error_json(e).dump());
    }
    return finish(s, *state, WorkflowStatus::kSuccess, text, std::nullopt);
  } catch (const HandlerAbort& a) {
    // The run and its steps stay as they are; the message is visible again at once for a
    // later worker, without a failed delivery counted; the abort's cause propagates.
    if (!state->lease_lost) {
      const auto now = s.now();
      s.backend->release({msg.id}, r.worker, now, now, std::numeric_limits<std::int32_t>::max());
    }
    std::rethrow_exception(a.cause);
  } catch (const PausedError&) {
    if (state->lease_lost) return leave;
    ex.disposition = Disposition::kDefer;
    ex.wake_at = state->wake_at.value_or(s.now());
    ex.wait = state->wait;
  } catch (const StepNotReadyError&) {
    if (state->lease_lost) return leave;
    ex.disposition = Disposition::kDefer;
    ex.wake_at = state->wake_at.value_or(s.now());
  } catch (const TransientStepError& e) {
    // A step recorded its transient failure (Run::record_step_transient, as the Python @step
    // does) and the handler let the error escape: the run stays RUNNING and its message is
    // hidden until the step's retry_at. With no retry scheduled the run fails.
    if (state->lease_lost) return leave;
    if (!state->wake_at) {
      const RetriesExhaustedError final_error(
          "run " + std::to_string(*run_id) +
          ": transient failure with no retries left: " + e.what());
      return finish(s, *state, WorkflowStatus::kError, std::nullopt,
                    serialise_result(error_json(final_error), "error", true));
    }
    ex.disposition = Disposition::kDefer;
    ex.wake_at = *state->wake_at;
  } catch (const CancelledError&) {
    if (state->lease_lost) return leave;
    core::finish_run(*s.backend, *run_id, WorkflowStatus::kCancelled, std::nullopt, std::nullopt,
                     s.now());
  } catch (const Error& e) {
    if (state->lease_lost) return leave;
    if (((e.code() == ErrorCode::kConnection || e.code() == ErrorCode::kTimeout ||
          e.code() == ErrorCode::kConflict) &&
         e.retryable()) ||
        e.code() == ErrorCode::kStorageFull) {
      // Storage trouble, not a verdict on the run: the message is given back (or, if
      // that fails too, left leased until its lease lapses) and the run is resumed
      // (finished steps are not re-run). A full disk too: recording ERROR would need the
      // space that is missing (decision H5). A write refused by a concurrent writer (S3)
      // was not applied: the same (decision H20).
      return Execution{Disposition::kRetry, {}, false, std::nullopt};
    }
    return finish(s, *state, WorkflowStatus::kError, std::nullopt,
                  serialise_result(error_json(e), "error", true));
  } catch (const std::exception& e) {
    if (state->lease_lost) return leave;
    return finish(s, *state, WorkflowStatus::kError, std::nullopt,
                  serialise_result(error_json(e), "error", true));
  } catch (...) {
    if (state->lease_lost) return leave;
    return finish(s, *state, WorkflowStatus::kError, std::nullopt,
                  json{{"message", "unknown exception"}}.dump());
  }
  return ex;
}

// run_start / run_end events of one execution (a no-op without a trace hook).
class RunTrace {
 public:
  RunTrace(detail::StoreState& s, const ResolvedDequeue& r, const QueueMessage& msg,
           std::int64_t run_id)
      : s_(s), r_(r), msg_(msg), run_id_(run_id) {
    if (!s_.tracer.active()) return;
    active_ = true;
    ctx_ = trace_of(msg_);
    start_ = s_.now();
    TraceEvent e = event(TraceEventKind::kRunStart);
    e.at = start_;
    s_.tracer.emit(e);
  }
  // The execution returned `ex`: the run's status is read back for the event.
  void end(const Execution& ex) noexcept {
    if (!active_) return;
    try {
      TraceEvent e = event(TraceEventKind::kRunEnd);
      std::optional<RunRecord> run;
      if (ex.disposition == Disposition::kLeave) {
        e.status = "RUNNING";  // left to another worker (lease lost or storage trouble)
      } else {
        run = s_.backend->get_run(run_id_);
        if (run) e.status = to_string(run->status);
        if (run && run->status == WorkflowStatus::kError) {
          e.error_type = run->error && run->error->contains("code")
                             ? run->error->at("code").get<std::string>()
                             : std::string("ERROR");
          e.error_message = run->error && run->error->contains("message")
                                ? run->error->at("message").get<std::string>()
                                : (run->error ? run->error->dump() : std::string());
        }
      }
      finish(e);
    } catch (...) {
      // Tracing never changes the outcome: a failed read leaves the event out.
    }
  }
  // The execution ended with `error` propagating (HandlerAbort's cause, a storage error).
  void end(std::exception_ptr error) noexcept {
    if (!active_) return;
    TraceEvent e = event(TraceEventKind::kRunEnd);
    e.status = "RUNNING";
    describe_error(error, e);
    finish(e);
  }

 private:
  TraceEvent event(TraceEventKind kind) const {
    TraceEvent e;
    e.kind = kind;
    e.queue = r_.queue;
    e.message_id = msg_.id;
    e.run_id = run_id_;
    e.worker_id = r_.worker;
    e.attempt = msg_.read_ct;
    e.trace = ctx_ ? &*ctx_ : nullptr;
    return e;
  }
  void finish(TraceEvent& e) const noexcept {
    e.at = s_.now();
    e.duration = e.at - start_;
    s_.tracer.emit(e);
  }

  detail::StoreState& s_;
  const ResolvedDequeue& r_;
  const QueueMessage& msg_;
  std::int64_t run_id_;
  bool active_ = false;
  std::optional<TraceContext> ctx_;
  TimePoint start_;
};

Execution execute(const WorkflowDef& def, ResolvedDequeue& r, const QueueMessage& msg) {
  auto& s = *r.store;
  auto run_id = run_id_of(s, msg);
  if (!run_id) return {};  // not a run message: archive it so it does not come back
  auto start = s.backend->start_run(*run_id, s.now());
  if (start.other_version) {
    // A run of another app version (docs/workflows.md "Safe upgrades"): given back unread
    // (not counted) for a worker of its version; looked at again after kOtherVersionRecheck.
    Execution ex;
    ex.disposition = Disposition::kDefer;
    ex.wake_at = s.now() + std::max<Duration>(kOtherVersionRecheck,
                                              std::chrono::milliseconds(s.config.poll_interval_ms));
    return ex;
  }
  if (!start.started) return {};  // finished, or cancelled before it started
  RunTrace trace(s, r, msg, *run_id);
  try {
    Execution ex = execute_started(def, r, msg, run_id, start);
    trace.end(ex);
    return ex;
  } catch (...) {
    trace.end(std::current_exception());
    throw;
  }
}

// After storage trouble (a retryable error, a full disk): the message becomes visible again
// after one poll interval, the delivery not counted (defer), so storage trouble never
// pushes a run's message towards max_read_ct and the dead letters (decision H20). If that
// write fails too, the message stays leased and comes back when its lease lapses (counted).
// A write refused by a concurrent writer is tried again at once (a few times): the refusal
// refreshed the store's copy, so the next attempt builds on the newest version.
void give_back(ResolvedDequeue& r, const QueueMessage& msg) {
  constexpr int kAttempts = 5;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    try {
      const auto now = r.store->now();
      r.store->backend->defer({msg.id}, r.worker, now + r.poll_interval, now);
      return;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kConflict || !e.retryable()) return;  // left leased
    }
  }
}

// Archives or defers the message of an execution, as it says; throws what storage throws.
void dispose(ResolvedDequeue& r, const QueueMessage& msg, const Execution& ex, TimePoint now,
             PollStats& stats) {
  switch (ex.disposition) {
    case Disposition::kArchive: {
      bool archived = r.store->backend->archive({msg.id}, r.worker, now).front();
      if (!archived) {
        ++stats.lease_lost;
      } else if (ex.succeeded) {
        ++stats.processed;
      } else {
        ++stats.failed;
      }
      break;
    }
    case Disposition::kDefer:
      if (ex.wait) {
        r.store->backend->defer_waiting_run(msg.id, r.worker, std::max(ex.wake_at, now), now,
                                            *ex.wait);
      } else {
        r.store->backend->defer({msg.id}, r.worker, std::max(ex.wake_at, now), now);
      }
      break;
    case Disposition::kRetry:
      give_back(r, msg);
      break;
    case Disposition::kLeave:
      break;
  }
}

}  // namespace

PollStats serve_workflow(const WorkflowDef& def, ResolvedDequeue& r) {
  PollSession session(r);
  PollStats stats;
  auto lease_one = [&] { return lease_messages(*r.store, r.queue, 1, r.lease, r.worker); };
  while (auto msgs = session.next_batch(stats, lease_one)) {
    const auto& msg = msgs->front();
    ++stats.batches;
    session.keeper().track({msg.id}, {msg.vt});
    try {
      auto ex = execute(def, r, msg);
      session.keeper().clear();
      dispose(r, msg, ex, r.store->now(), stats);
    } catch (const Error& e) {
      // Storage trouble outside the handler (starting or finishing the run, archiving or
      // deferring its message: a lost connection whose effect is known, a write refused by
      // a concurrent writer, H20): the message is given back; when it comes back a
      // finished run's message is archived, another run resumed from its recorded steps.
      // Like a failed fetch, it is waited out, not the end of the loop.
      session.keeper().clear();
      if (!e.retryable()) throw;
      give_back(r, msg);
      session.retry_wait();
    }
    r.store->activity.notify_run_finished();  // result() waits of this store re-read at once
  }
  session.finish(stats.stop);
  return stats;
}

}  // namespace pgqrs::core
