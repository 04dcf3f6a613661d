// Fork and rerun (pgqrs/fork.h; issue 15 item 4): a fork copies the succeeded steps before
// `from_step` (they are not executed again) and executes the rest; rerun executes all; the
// original run is untouched; bad input is a ValidationError naming what is wrong.
#include <string>
#include <vector>

#include "conformance/workflow_test_support.h"
#include "pgqrs/fork.h"

namespace pgqrs_test {
namespace {

using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowForkTest : public WorkflowTest {
 protected:
  // Three steps; "charge" fails (for good) while `fail_charge` is set. Each body counts.
  pgqrs::WorkflowDef Def() {
    return pgqrs::WorkflowDef("wf_fork", [this](pgqrs::Run& run, const json& input) {
      const int a = pgqrs::workflow_step(run, "reserve", [&] {
        calls_.bump("reserve");
        return input.at("n").get<int>() + calls_.get("reserve") * 100;
      });
      const int b = pgqrs::workflow_step(run, "charge", [&] {
        calls_.bump("charge");
        if (fail_charge_) throw std::runtime_error("card declined");
        return a + 1;
      });
      const int c = pgqrs::workflow_step(run, "ship", [&] {
        calls_.bump("ship");
        return b + 1;
      });
      return json{{"a", a}, {"b", b}, {"c", c}};
    });
  }
  Counters calls_;
  bool fail_charge_ = false;
};

TEST_P(WorkflowForkTest, ForkCopiesStepsBeforeFromStepAndExecutesTheRest) {
  auto def = Def();
  Register(def);
  fail_charge_ = true;
  const auto original = Trigger(def, json{{"n", 1}});
  Drain(def);
  ASSERT_EQ(Status(original), WorkflowStatus::kError) << Describe(original);
  ASSERT_EQ(calls_.get("reserve"), 1);

  fail_charge_ = false;  // the bug is fixed: fork from the failed step
  const auto msg = pgqrs::fork(store(), original, "charge");
  const auto forked = RunIdOf(msg);
  EXPECT_NE(forked, original);
  EXPECT_EQ(msg.payload, (json{{"n", 1}})) << "the fork runs with the original input";
  // The copied step is there before any worker runs.
  const auto copied = Step(forked, "reserve");
  ASSERT_TRUE(copied.has_value());
  EXPECT_EQ(copied->status, WorkflowStatus::kSuccess);
  EXPECT_EQ(copied->output, std::optional<json>(json(101)));
  EXPECT_FALSE(Step(forked, "charge").has_value());

  Drain(def);
  ASSERT_EQ(Status(forked), WorkflowStatus::kSuccess) << Describe(forked);
  EXPECT_EQ(calls_.get("reserve"), 1) << "a copied step is not executed again";
  EXPECT_EQ(calls_.get("charge"), 2);
  EXPECT_EQ(calls_.get("ship"), 1);
  EXPECT_EQ(Record(forked).output, std::optional<json>(json{{"a", 101}, {"b", 102}, {"c", 103}}));
  // The original is untouched.
  EXPECT_EQ(Status(original), WorkflowStatus::kError);
  EXPECT_EQ(Steps(original).size(), 2u);
}

TEST_P(WorkflowForkTest, ForkFromTheFirstStepAndRerunExecuteEverything) {
  auto def = Def();
  Register(def);
  const auto original = Trigger(def, json{{"n", 5}});
  Drain(def);
  ASSERT_EQ(Status(original), WorkflowStatus::kSuccess) << Describe(original);

  const auto from_first = RunIdOf(pgqrs::fork(store(), original, "reserve"));
  const auto rerun = RunIdOf(pgqrs::rerun(store(), original));
  EXPECT_TRUE(Steps(from_first).empty());
  EXPECT_TRUE(Steps(rerun).empty());
  Drain(def);
  EXPECT_EQ(Status(from_first), WorkflowStatus::kSuccess);
  EXPECT_EQ(Status(rerun), WorkflowStatus::kSuccess);
  EXPECT_EQ(calls_.get("reserve"), 3);
  EXPECT_EQ(calls_.get("ship"), 3);
}

TEST_P(WorkflowForkTest, ForkingTheLastStepCopiesEveryEarlierSuccess) {
  auto def = Def();
  Register(def);
  const auto original = Trigger(def, json{{"n", 2}});
  Drain(def);
  const auto forked = RunIdOf(pgqrs::fork(store(), original, "ship"));
  const auto steps = Steps(forked);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].step_name, "reserve") << "copies keep the original order";
  EXPECT_EQ(steps[1].step_name, "charge");
  Drain(def);
  EXPECT_EQ(Status(forked), WorkflowStatus::kSuccess);
  EXPECT_EQ(calls_.get("reserve"), 1);
  EXPECT_EQ(calls_.get("charge"), 1);
  EXPECT_EQ(calls_.get("ship"), 2);
}

TEST_P(WorkflowForkTest, BulkRerunMatchesStatusAndDefinition) {
  auto def = Def();
  Register(def);
  fail_charge_ = true;
  const auto failed1 = Trigger(def, json{{"n", 1}});
  const auto failed2 = Trigger(def, json{{"n", 2}});
  Drain(def);
  fail_charge_ = false;
  const auto ok = Trigger(def, json{{"n", 3}});
  Drain(def);
  ASSERT_EQ(Status(ok), WorkflowStatus::kSuccess);

  pgqrs::RunFilter filter;
  filter.workflow = "wf_fork";
  filter.status = WorkflowStatus::kError;
  const auto msgs = pgqrs::rerun_matching(store(), filter);
  ASSERT_EQ(msgs.size(), 2u);
  std::vector<json> inputs;
  for (const auto& m : msgs) inputs.push_back(m.payload);
  EXPECT_EQ(inputs, (std::vector<json>{json{{"n", 2}}, json{{"n", 1}}})) << "newest first";
  Drain(def);
  for (const auto& m : msgs) EXPECT_EQ(Status(RunIdOf(m)), WorkflowStatus::kSuccess);
  EXPECT_EQ(Status(failed1), WorkflowStatus::kError);
  EXPECT_EQ(Status(failed2), WorkflowStatus::kError);
}

TEST_P(WorkflowForkTest, UnknownRunOrStepIsAValidationErrorAndCreatesNothing) {
  auto def = Def();
  Register(def);
  const auto original = Trigger(def, json{{"n", 1}});
  Drain(def);
  const auto runs_before = ListRuns(store(), {}).size();
  try {
    pgqrs::fork(store(), original, "refund");
    FAIL() << "no error";
  } catch (const pgqrs::ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("'refund'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("reserve, charge, ship"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pgqrs::fork(store(), original + 1000, "charge"), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::rerun(store(), original + 1000), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::fork(store(), original, ""), pgqrs::ValidationError);
  EXPECT_EQ(ListRuns(store(), {}).size(), runs_before);
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowForkTest);

}  // namespace
}  // namespace pgqrs_test
