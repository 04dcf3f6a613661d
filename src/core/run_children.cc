// Child runs (pgqrs/coordination.h): Run::start_child, ChildRun::result, Run::gather, and
// the cancel cascade (core/run_transitions.h).
#include <chrono>
#include <map>

#include "core/run_state.h"
#include "core/run_transitions.h"
#include "core/validation.h"
#include "pgqrs/coordination.h"

namespace pgqrs {
namespace {

// A waiting parent is woken by its children's ends (finish_run counts its wait down); this
// re-check bounds the wait only for a child that cannot wake it -- one a fork copied from
// another run, whose end wakes that run instead (decision C22).
constexpr std::chrono::minutes kChildWaitRecheck{5};

std::string describe(const RunRecord& child) {
  return "child run " + std::to_string(child.id) + " (workflow '" + child.workflow_name + "')";
}

}  // namespace

ChildRun Run::start_child(std::string_view workflow, const json& input) {
  auto& s = *state_;
  core::validate_name(workflow, "workflow name");
  const std::string text = core::validate_payload(
      input, s.store->config.validation,
      "input of the child '" + std::string(workflow) + "' of run " + std::to_string(s.run_id));
  const std::string name = detail::next_call_step(s, "child");
  const auto step = detail::enter_step(s, name);
  if (step.status == WorkflowStatus::kSuccess && step.output) {
    return ChildRun(*this, step.output->at("run_id").get<std::int64_t>());
  }
  backend::MessageTrace trace;
  if (auto ctx = s.store->tracer.context_for_enqueue(s.trace)) {
    trace.traceparent = std::move(ctx->traceparent);
    trace.tracestate = std::move(ctx->tracestate);
  }
  auto started = s.store->backend->start_child_run(s.run_id, name, workflow, text, s.now(), trace);
  if (!started) {
    // Refused: the parent is being cancelled (or ended) since its step boundary.
    throw CancelledError("run " + std::to_string(s.run_id) + " is being cancelled: child '" +
                         std::string(workflow) + "' not started");
  }
  complete_step(name, json{{"run_id", started->run.id}, {"workflow", workflow}});
  s.store->activity.notify(std::string(workflow));  // this store's idle pollers, at once
  return ChildRun(*this, started->run.id);
}

json ChildRun::result() { return parent_.gather({*this}).front(); }

std::vector<json> Run::gather(const std::vector<ChildRun>& children) {
  auto& s = *state_;
  detail::check_lease(s);  // a wait is a step boundary
  auto& be = *s.store->backend;
  if (auto run = be.get_run(s.run_id); run && run->status == WorkflowStatus::kCancelling) {
    throw CancelledError("run " + std::to_string(s.run_id) + " is being cancelled");
  }
  // Every child of this run in one read; a child of another run (copied by a fork) alone.
  std::map<std::int64_t, RunRecord> known;
  for (auto& c : be.child_runs(s.run_id)) known.emplace(c.id, std::move(c));
  std::vector<const RunRecord*> records;
  std::vector<std::int64_t> running;
  for (const ChildRun& child : children) {
    auto it = known.find(child.id());
    if (it == known.end()) {
      auto rec = be.get_run(child.id());
      if (!rec) {
        throw ExecutionFailedError("child run " + std::to_string(child.id()) + " no longer exists");
      }
      it = known.emplace(child.id(), std::move(*rec)).first;
    }
    const RunRecord& rec = it->second;
    if (rec.status == WorkflowStatus::kError) {
      throw ExecutionFailedError(describe(rec) + " failed: " +
                                 (rec.error ? rec.error->dump() : std::string("(no error)")));
    }
    if (rec.status == WorkflowStatus::kCancelled) {
      throw ExecutionFailedError(describe(rec) + " was cancelled");
    }
    if (!is_terminal(rec.status)) running.push_back(rec.id);
    records.push_back(&rec);
  }
  if (running.empty()) {
    std::vector<json> out;
    out.reserve(records.size());
    for (const RunRecord* rec : records) out.push_back(rec->output.value_or(json()));
    return out;
  }
  backend::RunWait wait;
  wait.run_id = s.run_id;
  wait.children = running;
  detail::suspend(s, std::move(wait), s.now() + kChildWaitRecheck,
                  "waits for " + std::to_string(running.size()) + " child run(s)");
}

std::vector<RunRecord> child_runs(const Store& store, std::int64_t run_id) {
  return StoreAccess::state(store)->backend->child_runs(run_id);
}

std::optional<bool> core::cancel_run_tree(backend::Backend& be, std::int64_t run_id,
                                          TimePoint now) {
  const auto cancelled = be.cancel_run(run_id, now);
  if (!cancelled) return cancelled;
  for (const RunRecord& child : be.child_runs(run_id)) {
    if (!is_terminal(child.status)) cancel_run_tree(be, child.id, now);
  }
  return cancelled;
}

}  // namespace pgqrs
