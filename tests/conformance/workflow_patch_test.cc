// Safe upgrades (issue 15 item 5): Run::patched answers true for a run that reaches the
// patch point for the first time on patched code, false for a run whose history (recorded
// on older code) already lies beyond it, and the same answer on every later execution.
// "Older code" is simulated by driving the run by hand (RunBuilder::execute) with the old
// step sequence and stopping, as a crashed worker would.
#include "conformance/workflow_test_support.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowPatchTest : public WorkflowTest {
 protected:
  // The patched code: "a", then the patch point; patched runs take "b_new", others "b_old";
  // both end with "c". The output names the path and what patched() answered.
  pgqrs::WorkflowDef Patched(Counters& calls) {
    return pgqrs::WorkflowDef("wf_patch", [&calls](pgqrs::Run& run, const json&) {
      pgqrs::workflow_step(run, "a", [&] { return calls.bump("a"); });
      const bool patched = run.patched("fix-b");
      if (patched) {
        pgqrs::workflow_step(run, "b_new", [&] { return calls.bump("b_new"); });
      } else {
        pgqrs::workflow_step(run, "b_old", [&] { return calls.bump("b_old"); });
      }
      pgqrs::workflow_step(run, "c", [&] { return calls.bump("c"); });
      return json{{"patched", patched}};
    });
  }
  // Older code, by hand: records `steps` (each succeeding) and stops without finishing.
  void RunOldCode(std::int64_t run_id, const std::vector<std::string>& steps) {
    pgqrs::Run run = pgqrs::run().id(run_id).store(store()).execute();
    run.start();
    for (const auto& name : steps) {
      ASSERT_EQ(run.acquire_step(name).status, pgqrs::StepResult::Status::kExecute);
      run.complete_step(name, 100);  // the step bodies return numbers
    }
  }
  std::optional<json> Answer(std::int64_t run_id) {
    auto step = Step(run_id, "patch:fix-b");
    if (!step) return std::nullopt;
    EXPECT_EQ(step->status, WorkflowStatus::kSuccess);
    return step->output;
  }
};

TEST_P(WorkflowPatchTest, ANewRunTakesThePatchedPathAndRecordsTrue) {
  Counters calls;
  auto def = Patched(calls);
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(pgqrs::run().id(run_id).store(store()).get(), (json{{"patched", true}}));
  EXPECT_EQ(Answer(run_id), json(true));
  EXPECT_EQ(calls.get("b_new"), 1);
  EXPECT_EQ(calls.get("b_old"), 0);
}

TEST_P(WorkflowPatchTest, ARunAlreadyPastThePointOnOlderCodeKeepsTheOldPath) {
  Counters calls;
  auto def = Patched(calls);
  Register(def);
  const auto run_id = Trigger(def);
  RunOldCode(run_id, {"a", "b_old"});  // the old code had no patch point: a, b_old, c
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(pgqrs::run().id(run_id).store(store()).get(), (json{{"patched", false}}));
  EXPECT_EQ(Answer(run_id), json(false));
  EXPECT_EQ(calls.get("a"), 0) << "a was recorded by the old code and is replayed";
  EXPECT_EQ(calls.get("b_old"), 0) << "b_old was recorded by the old code and is replayed";
  EXPECT_EQ(calls.get("b_new"), 0) << "the patched path must not run for this run";
  EXPECT_EQ(calls.get("c"), 1);
}

TEST_P(WorkflowPatchTest, ARunStoppedBeforeThePointOnOlderCodeTakesThePatchedPath) {
  Counters calls;
  auto def = Patched(calls);
  Register(def);
  const auto run_id = Trigger(def);
  RunOldCode(run_id, {"a"});  // crashed after a, before reaching b_old
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Answer(run_id), json(true));
  EXPECT_EQ(calls.get("a"), 0);
  EXPECT_EQ(calls.get("b_new"), 1);
  EXPECT_EQ(calls.get("b_old"), 0);
}

TEST_P(WorkflowPatchTest, TheRecordedAnswerStandsOnLaterExecutions) {
  // After the patch point the run records more steps and pauses; the next execution then
  // finds steps beyond the point, but the recorded answer (true) is what it gets.
  Counters calls;
  std::vector<bool> answers;
  pgqrs::WorkflowDef def("wf_patch_replay", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "a", [&] { return calls.bump("a"); });
    const bool patched = run.patched("fix-b");
    answers.push_back(patched);
    pgqrs::workflow_step(run, patched ? "b_new" : "b_old", [&] { return calls.bump("b"); });
    pgqrs::sleep(run, "nap", 10s);
    return json{{"patched", patched}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kPaused);
  Advance(10s);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(answers, (std::vector<bool>{true, true}));
  EXPECT_EQ(calls.get("b"), 1);
}

TEST_P(WorkflowPatchTest, AnInvalidPatchNameIsAValidationErrorAndRecordsNothing) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_patch_bad", [&](pgqrs::Run& run, const json&) {
    try {
      (void)run.patched("");
    } catch (const pgqrs::ValidationError& e) {
      calls.bump("validation");
      EXPECT_NE(std::string(e.what()).find("patch name"), std::string::npos) << e.what();
    }
    return json::object();
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(calls.get("validation"), 1);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_TRUE(ListSteps(store(), run_id).empty());
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowPatchTest);

}  // namespace
}  // namespace pgqrs_test
