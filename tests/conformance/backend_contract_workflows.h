// The fixture of the workflow backend-contract tests (contract_workflow_*_test.cc): runs
// moved into a given status through the backend's own transitions, and short reads.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {

class WorkflowContractTest : public BackendContractTest {
 protected:
  TriggeredRun trigger(const std::string& workflow, const json& input = json::object(),
                       TimePoint now = kT0) {
    return be().trigger_run(workflow, input.dump(), now);
  }

  // A run of a fresh workflow `wf` moved to `status` through the backend's own transitions.
  std::int64_t run_in(WorkflowStatus status, const std::string& wf = "wf") {
    be().create_workflow(wf, kT0);
    const std::int64_t id = trigger(wf).run.id;
    switch (status) {
      case WorkflowStatus::kQueued:
        break;
      case WorkflowStatus::kRunning:
        be().start_run(id, kT0);
        break;
      case WorkflowStatus::kPaused:
        be().start_run(id, kT0);
        EXPECT_TRUE(be().pause_run(id, std::nullopt, kT0));
        break;
      case WorkflowStatus::kCancelling:
        EXPECT_EQ(be().cancel_run(id, kT0), true);
        break;
      case WorkflowStatus::kCancelled:
      case WorkflowStatus::kSuccess:
      case WorkflowStatus::kError:
        be().start_run(id, kT0);
        EXPECT_TRUE(be().finish_run(id, status, std::nullopt, std::nullopt, kT0));
        break;
    }
    EXPECT_EQ(run(id).status, status);
    return id;
  }

  RunRecord run(std::int64_t id) {
    auto r = be().get_run(id);
    if (!r) throw std::runtime_error("no run " + std::to_string(id));
    return *r;
  }

  QueueMessage message(std::int64_t id) {
    auto m = be().get_message(id);
    if (!m) throw std::runtime_error("no message " + std::to_string(id));
    return *m;
  }

  std::vector<std::int64_t> run_ids(const RunFilter& filter) {
    std::vector<std::int64_t> ids;
    for (const auto& r : be().list_runs(filter)) ids.push_back(r.id);
    return ids;
  }
};

}  // namespace pgqrs_test
