// Backend contract (src/backend/backend.h) on every backend: workflow steps (begin once,
// updates, a recorded success is final, creation order). Time is injected, never slept.
#include <optional>
#include <string>
#include <vector>

#include "conformance/backend_contract_workflows.h"

namespace pgqrs_test {
namespace {

class BackendWorkflowStepsContract : public WorkflowContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendWorkflowStepsContract);

// ---- steps --------------------------------------------------------------------------------

TEST_P(BackendWorkflowStepsContract, BeginStepInsertsRunningOnceAndThenReturnsTheRow) {
  const auto id = run_in(WorkflowStatus::kRunning);
  EXPECT_FALSE(be().get_step(id, "fetch"));
  const auto first = be().begin_step(id, "fetch", kT0 + 1s);
  EXPECT_GT(first.id, 0);
  EXPECT_EQ(first.run_id, id);
  EXPECT_EQ(first.step_name, "fetch");
  EXPECT_EQ(first.status, WorkflowStatus::kRunning);
  EXPECT_EQ(first.retry_count, 0);
  EXPECT_FALSE(first.retry_at);
  EXPECT_FALSE(first.input);
  EXPECT_FALSE(first.output);
  EXPECT_FALSE(first.error);
  EXPECT_EQ(first.created_at, kT0 + 1s);
  EXPECT_EQ(first.updated_at, kT0 + 1s);

  // A later begin returns the existing row unchanged, whatever its status.
  StepUpdate waiting;
  waiting.status = WorkflowStatus::kQueued;
  waiting.retry_at = kT0 + 1min;
  ASSERT_TRUE(be().update_step(id, "fetch", waiting, kT0 + 2s));
  const auto again = be().begin_step(id, "fetch", kT0 + 3s);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.status, WorkflowStatus::kQueued);
  EXPECT_EQ(again.retry_at, kT0 + 1min);
  EXPECT_EQ(again.created_at, kT0 + 1s);
  EXPECT_EQ(again.updated_at, kT0 + 2s);

  const auto got = be().get_step(id, "fetch");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, first.id);
  EXPECT_FALSE(be().get_step(id + 1000, "fetch"));
}

TEST_P(BackendWorkflowStepsContract, BeginStepOfAnUnknownRunIsValidationError) {
  EXPECT_THROW(be().begin_step(12345, "s", kT0), pgqrs::ValidationError);
}

// The engine's step start: the boundary check and begin_step in one call, writing nothing
// when the boundary refuses.
TEST_P(BackendWorkflowStepsContract, BeginStepAtBoundaryInsertsOnlyForALiveRunWhoseLeaseIsHeld) {
  be().create_workflow("wf", kT0);
  const auto run_id = trigger("wf").run.id;
  const auto worker = make_worker("w", "wf");
  const auto leased = dequeue("wf", 1, worker, kT0, 30s);
  ASSERT_EQ(leased.size(), 1u);
  const auto msg = leased[0].id;
  be().start_run(run_id, kT0);

  const auto first = be().begin_step_at_boundary(run_id, "a", msg, worker, kT0 + 1s);
  EXPECT_EQ(first.boundary.status, WorkflowStatus::kRunning);
  EXPECT_TRUE(first.boundary.lease_held);
  ASSERT_TRUE(first.step);
  EXPECT_EQ(first.step->step_name, "a");
  EXPECT_EQ(first.step->status, WorkflowStatus::kRunning);
  EXPECT_EQ(first.step->created_at, kT0 + 1s);
  const auto again = be().begin_step_at_boundary(run_id, "a", msg, worker, kT0 + 2s);
  ASSERT_TRUE(again.step);
  EXPECT_EQ(again.step->id, first.step->id);
  EXPECT_EQ(again.step->created_at, kT0 + 1s);

  // Not the holder, or the lease expired: refused, nothing written.
  const auto other = be().begin_step_at_boundary(run_id, "b", msg, worker + 999, kT0 + 1s);
  EXPECT_EQ(other.boundary.status, WorkflowStatus::kRunning);
  EXPECT_FALSE(other.boundary.lease_held);
  EXPECT_FALSE(other.step);
  const auto expired = be().begin_step_at_boundary(run_id, "b", msg, worker, kT0 + 31s);
  EXPECT_FALSE(expired.boundary.lease_held);
  EXPECT_FALSE(expired.step);
  EXPECT_FALSE(be().get_step(run_id, "b"));

  // Message 0 (a run driven outside a workflow worker): no lease to check.
  const auto unleased = be().begin_step_at_boundary(run_id, "c", 0, 0, kT0 + 1s);
  EXPECT_TRUE(unleased.boundary.lease_held);
  ASSERT_TRUE(unleased.step);
  EXPECT_EQ(unleased.step->status, WorkflowStatus::kRunning);

  // A run being cancelled starts no step; an unknown run reports no status.
  ASSERT_EQ(be().cancel_run(run_id, kT0 + 3s), true);
  const auto cancelling = be().begin_step_at_boundary(run_id, "d", msg, worker, kT0 + 4s);
  EXPECT_EQ(cancelling.boundary.status, WorkflowStatus::kCancelling);
  EXPECT_FALSE(cancelling.step);
  EXPECT_FALSE(be().get_step(run_id, "d"));
  const auto unknown = be().begin_step_at_boundary(run_id + 1000, "e", 0, 0, kT0);
  EXPECT_FALSE(unknown.boundary.status);
  EXPECT_FALSE(unknown.step);
  EXPECT_FALSE(be().get_step(run_id + 1000, "e"));
}

TEST_P(BackendWorkflowStepsContract, UpdateStepSetsGivenFieldsAndClearsRetryAt) {
  const auto id = run_in(WorkflowStatus::kRunning);
  be().begin_step(id, "s", kT0);

  StepUpdate failed;
  failed.status = WorkflowStatus::kQueued;
  failed.error = R"({"message":"flaky"})";
  failed.retry_at = kT0 + 10s;
  failed.retry_count = 1;
  EXPECT_TRUE(be().update_step(id, "s", failed, kT0 + 1s));
  auto st = *be().get_step(id, "s");
  EXPECT_EQ(st.status, WorkflowStatus::kQueued);
  EXPECT_EQ(st.error, json({{"message", "flaky"}}));
  EXPECT_EQ(st.retry_at, kT0 + 10s);
  EXPECT_EQ(st.retry_count, 1);
  EXPECT_EQ(st.updated_at, kT0 + 1s);

  StepUpdate retrying;  // no retry_at, no retry_count, no error given
  retrying.status = WorkflowStatus::kRunning;
  EXPECT_TRUE(be().update_step(id, "s", retrying, kT0 + 10s));
  st = *be().get_step(id, "s");
  EXPECT_EQ(st.status, WorkflowStatus::kRunning);
  EXPECT_FALSE(st.retry_at);
  EXPECT_EQ(st.retry_count, 1);
  EXPECT_EQ(st.error, json({{"message", "flaky"}}));

  StepUpdate done;
  done.status = WorkflowStatus::kSuccess;
  done.output = R"([1,2,3])";
  EXPECT_TRUE(be().update_step(id, "s", done, kT0 + 11s));
  st = *be().get_step(id, "s");
  EXPECT_EQ(st.status, WorkflowStatus::kSuccess);
  EXPECT_EQ(st.output, json::array({1, 2, 3}));
  EXPECT_EQ(st.created_at, kT0);
  EXPECT_EQ(st.updated_at, kT0 + 11s);
}

TEST_P(BackendWorkflowStepsContract, UpdateStepIsRefusedAfterSuccess) {
  const auto id = run_in(WorkflowStatus::kRunning);
  be().begin_step(id, "s", kT0);
  StepUpdate done;
  done.status = WorkflowStatus::kSuccess;
  done.output = R"("first")";
  ASSERT_TRUE(be().update_step(id, "s", done, kT0));

  for (const auto to :
       {WorkflowStatus::kSuccess, WorkflowStatus::kError, WorkflowStatus::kRunning}) {
    StepUpdate later;
    later.status = to;
    later.output = R"("second")";
    later.error = R"({"message":"late"})";
    later.retry_count = 7;
    EXPECT_FALSE(be().update_step(id, "s", later, kT0 + 1h)) << to_string(to);
  }
  const auto st = *be().get_step(id, "s");
  EXPECT_EQ(st.status, WorkflowStatus::kSuccess);
  EXPECT_EQ(st.output, json("first"));
  EXPECT_FALSE(st.error);
  EXPECT_EQ(st.retry_count, 0);
  EXPECT_EQ(st.updated_at, kT0);
}

TEST_P(BackendWorkflowStepsContract, UpdateOfAnUnknownStepIsFalse) {
  const auto id = run_in(WorkflowStatus::kRunning);
  StepUpdate u;
  u.status = WorkflowStatus::kSuccess;
  EXPECT_FALSE(be().update_step(id, "never-begun", u, kT0));
  EXPECT_FALSE(be().get_step(id, "never-begun"));
}

TEST_P(BackendWorkflowStepsContract, ListStepsInCreationOrderPerRun) {
  const auto id = run_in(WorkflowStatus::kRunning);
  const auto other = run_in(WorkflowStatus::kRunning, "other");
  be().begin_step(id, "zeta", kT0 + 2s);
  be().begin_step(other, "elsewhere", kT0);
  be().begin_step(id, "alpha", kT0 + 1s);  // an earlier clock reading, created later
  be().begin_step(id, "mid", kT0 + 3s);
  be().begin_step(id, "zeta", kT0 + 4s);  // already there: no new row

  std::vector<std::string> names;
  for (const StepRecord& st : be().list_steps(id)) names.push_back(st.step_name);
  EXPECT_EQ(names, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(be().list_steps(other).size(), 1U);
  EXPECT_TRUE(be().list_steps(12345).empty());
}

}  // namespace
}  // namespace pgqrs_test
