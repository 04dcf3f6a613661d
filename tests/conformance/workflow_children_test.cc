// Child workflows (issue 15 item 3): Run::start_child starts a child exactly once (a replay
// gets the same child), ChildRun::result / Run::gather wait durably (the parent is PAUSED,
// its message deferred, and woken when its children end -- no clock needed), a failed child
// fails the await, and cancelling a parent cancels its unfinished children.
#include "conformance/workflow_test_support.h"
#include "pgqrs/coordination.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowChildrenTest : public WorkflowTest {
 protected:
  // A child that doubles its input "n"; fails when "fail" is set.
  pgqrs::WorkflowDef Doubler(Counters& calls) {
    return pgqrs::WorkflowDef("wf_child_double", [&calls](pgqrs::Run&, const json& in) {
      calls.bump("child");
      if (in.value("fail", false)) throw std::runtime_error("child says no");
      return json(in.at("n").get<int>() * 2);
    });
  }
  bool Deliverable(std::int64_t run_id) {
    auto msg = MessageOf(run_id);
    return msg.vt <= now() && !msg.consumer_worker_id.has_value();
  }
};

TEST_P(WorkflowChildrenTest, AParentGathersItsChildrenAndIsWokenWhenTheyEnd) {
  Counters calls;
  auto child = Doubler(calls);
  pgqrs::WorkflowDef parent("wf_parent_gather", [&](pgqrs::Run& run, const json&) {
    std::vector<pgqrs::ChildRun> kids;
    for (int n = 1; n <= 3; ++n) kids.push_back(run.start_child(child.name(), json{{"n", n}}));
    calls.bump("parent");
    return json(run.gather(kids));
  });
  Register(child);
  Register(parent);
  const auto run_id = Trigger(parent);
  Drain(parent);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << Describe(run_id);
  EXPECT_FALSE(Deliverable(run_id));
  EXPECT_EQ(Metrics(parent).leased, 0u);
  const auto kids = pgqrs::child_runs(store(), run_id);
  ASSERT_EQ(kids.size(), 3u);
  Drain(child);
  EXPECT_EQ(calls.get("child"), 3);
  EXPECT_TRUE(Deliverable(run_id)) << "the last child's end woke the parent";
  Drain(parent);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, (json{2, 4, 6}));
  EXPECT_EQ(pgqrs::child_runs(store(), run_id).size(), 3u) << "the replay started no child";
}

TEST_P(WorkflowChildrenTest, AReplayedParentGetsTheSameChild) {
  Counters calls;
  auto child = Doubler(calls);
  pgqrs::WorkflowDef parent("wf_parent_replay", [&](pgqrs::Run& run, const json&) {
    auto kid = run.start_child(child.name(), json{{"n", 21}});
    pgqrs::workflow_step(
        run, "flaky",
        [&] {
          if (calls.bump("flaky") == 1) throw pgqrs::TransientStepError("once");
          return 0;
        },
        Fixed(3, 1s));
    return kid.result();
  });
  Register(child);
  Register(parent);
  const auto run_id = Trigger(parent);
  Drain(parent);
  Advance(1s);
  Drain(parent);  // replays start_child, then waits for the child
  ASSERT_EQ(pgqrs::child_runs(store(), run_id).size(), 1u);
  Drain(child);
  Drain(parent);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, json(42));
  EXPECT_EQ(calls.get("child"), 1);
}

TEST_P(WorkflowChildrenTest, AFailedChildFailsTheAwaitWithItsError) {
  Counters calls;
  auto child = Doubler(calls);
  pgqrs::WorkflowDef parent("wf_parent_failing", [&](pgqrs::Run& run, const json&) {
    auto ok = run.start_child(child.name(), json{{"n", 1}});
    auto bad = run.start_child(child.name(), json{{"n", 2}, {"fail", true}});
    return json(run.gather({ok, bad}));
  });
  Register(child);
  Register(parent);
  const auto run_id = Trigger(parent);
  Drain(parent);
  Drain(child);
  Drain(parent);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
  const std::string error = Record(run_id).error->dump();
  EXPECT_NE(error.find("child says no"), std::string::npos) << error;
  EXPECT_NE(error.find("wf_child_double"), std::string::npos) << error;
}

TEST_P(WorkflowChildrenTest, CancellingAParentCancelsItsUnfinishedChildren) {
  Counters calls;
  auto child = Doubler(calls);
  pgqrs::WorkflowDef parent("wf_parent_cancel", [&](pgqrs::Run& run, const json&) {
    auto a = run.start_child(child.name(), json{{"n", 1}});
    auto b = run.start_child(child.name(), json{{"n", 2}});
    return json(run.gather({a, b}));
  });
  Register(child);
  Register(parent);
  const auto run_id = Trigger(parent);
  Drain(parent);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused);
  EXPECT_TRUE(CancelRun(store(), run_id));
  for (const auto& kid : pgqrs::child_runs(store(), run_id)) {
    EXPECT_EQ(kid.status, WorkflowStatus::kCancelling) << "child " << kid.id;
  }
  Drain(child);
  Drain(parent);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kCancelled) << Describe(run_id);
  for (const auto& kid : pgqrs::child_runs(store(), run_id)) {
    EXPECT_EQ(kid.status, WorkflowStatus::kCancelled) << "child " << kid.id;
  }
  EXPECT_EQ(calls.get("child"), 0) << "no child ran";
}

TEST_P(WorkflowChildrenTest, StartingAnUnregisteredChildFailsTheParent) {
  pgqrs::WorkflowDef parent("wf_parent_bad_child", [&](pgqrs::Run& run, const json&) {
    return run.start_child("wf_not_registered", json{{"n", 1}}).result();
  });
  Register(parent);
  const auto run_id = Trigger(parent);
  Drain(parent);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
  EXPECT_NE(Record(run_id).error->dump().find("wf_not_registered"), std::string::npos);
  EXPECT_TRUE(pgqrs::child_runs(store(), run_id).empty());
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowChildrenTest);

}  // namespace
}  // namespace pgqrs_test
