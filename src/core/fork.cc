#include "pgqrs/fork.h"

#include <algorithm>
#include <string>

#include "core/store_state.h"
#include "core/validation.h"
#include "pgqrs/admin.h"
#include "pgqrs/error.h"

namespace pgqrs {
namespace {

detail::StoreState& state_of(const Store& store) { return *StoreAccess::state(store); }

// Forks `run_id`, copying `copy` (step names); ValidationError for an unknown run.
QueueMessage fork_copying(const Store& store, std::int64_t run_id,
                          const std::vector<std::string>& copy) {
  auto& s = state_of(store);
  auto forked = s.backend->fork_run(run_id, copy, s.now());
  if (!forked) throw ValidationError("run " + std::to_string(run_id) + " not found");
  s.activity.notify(forked->run.workflow_name);  // wake this store's idle pollers at once
  return forked->message;
}

std::string names_of(const std::vector<StepRecord>& steps) {
  std::string out;
  for (const auto& st : steps) out += (out.empty() ? "" : ", ") + st.step_name;
  return out.empty() ? "none" : out;
}

}  // namespace

QueueMessage fork(const Store& store, std::int64_t run_id, std::string_view from_step) {
  if (from_step.empty()) throw ValidationError("fork: from_step must not be empty");
  auto& s = state_of(store);
  if (!s.backend->get_run(run_id)) {
    throw ValidationError("run " + std::to_string(run_id) + " not found");
  }
  const auto steps = s.backend->list_steps(run_id);  // creation order
  const auto at = std::find_if(steps.begin(), steps.end(),
                               [&](const StepRecord& st) { return st.step_name == from_step; });
  if (at == steps.end()) {
    throw ValidationError("fork: run " + std::to_string(run_id) + " has no step '" +
                          std::string(from_step) + "' (its steps: " + names_of(steps) + ")");
  }
  std::vector<std::string> copy;
  for (auto it = steps.begin(); it != at; ++it) {
    if (it->status == WorkflowStatus::kSuccess) copy.push_back(it->step_name);
  }
  return fork_copying(store, run_id, copy);
}

QueueMessage rerun(const Store& store, std::int64_t run_id) {
  return fork_copying(store, run_id, {});
}

std::vector<QueueMessage> rerun_matching(const Store& store, const RunFilter& filter) {
  const auto runs = admin(store).list_runs(filter);  // validates the filter
  std::vector<QueueMessage> out;
  out.reserve(runs.size());
  for (const auto& run : runs) out.push_back(rerun(store, run.id));
  return out;
}

}  // namespace pgqrs
