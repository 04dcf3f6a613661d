// Run::patched: safe upgrades of workflow code with runs in flight (decision C21).
#include "core/run_state.h"
#include "core/validation.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

bool Run::patched(std::string_view name) {
  auto& s = *state_;
  core::validate_name(name, "patch name");
  const std::string marker = "patch:" + std::string(name);
  // Before the marker is acquired: is any recorded step of the run beyond this point, i.e.
  // not reached by this execution? Then older code went past here without the patch.
  bool past = false;
  for (const auto& step : s.store->backend->list_steps(s.run_id)) {
    if (step.step_name != marker && s.reached_steps.count(step.step_name) == 0) {
      past = true;
      break;
    }
  }
  const StepResult recorded = acquire_step(marker);
  if (recorded.status == StepResult::Status::kSkipped) {
    // An earlier execution answered; its answer stands (a JSON boolean).
    return recorded.value.is_boolean() && recorded.value.get<bool>();
  }
  const bool answer = !past;
  complete_step(marker, answer);
  return answer;
}

}  // namespace pgqrs
