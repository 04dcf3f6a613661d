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
