// "Resume now" (Admin::resume_run, issue 16's dashboard action): a PAUSED run's wait ends at
// once, without moving the clock. A durable sleep of an hour is over; a recv with an hour's
// timeout returns nothing. Steps already done are not run again. A run that is not PAUSED
// (queued, finished, or RUNNING through a step's retry back-off) is left alone (false); an
// unknown run is a ValidationError.
#include "conformance/workflow_test_support.h"
#include "pgqrs/coordination.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowResumeTest : public WorkflowTest {};

TEST_P(WorkflowResumeTest, AnHourLongSleepEndsNowAndDoneStepsAreNotRunAgain) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_resume_sleep", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "before", [&] { return calls.bump("before"); });
    pgqrs::sleep(run, "nap", 1h);
    return json{{"after", calls.bump("after")}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << Describe(run_id);
  Drain(def);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kPaused) << "nothing is due before the hour";

  EXPECT_TRUE(pgqrs::admin(store()).resume_run(run_id));
  Drain(def);  // the clock has not moved
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls.get("before"), 1);
  EXPECT_EQ(calls.get("after"), 1);
  EXPECT_FALSE(pgqrs::admin(store()).resume_run(run_id)) << "a finished run is left alone";
}

TEST_P(WorkflowResumeTest, ARecvWithAnHourTimeoutReturnsNothingNow) {
  pgqrs::WorkflowDef def("wf_resume_recv", [](pgqrs::Run& run, const json&) {
    auto m = run.recv("approval", 1h);
    return json{{"got", m.value_or(json("timeout"))}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << Describe(run_id);

  EXPECT_TRUE(pgqrs::admin(store()).resume_run(run_id));
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, (json{{"got", "timeout"}}));
  EXPECT_EQ(Step(run_id, "recv:1")->output, (json{{"topic", "approval"}, {"timed_out", true}}));
}

TEST_P(WorkflowResumeTest, ARunInARetryBackOffIsNotPausedAndIsLeftAlone) {
  Counters calls;
  const pgqrs::StepRetryPolicy hourly{3, pgqrs::BackoffStrategy::fixed(1h)};
  pgqrs::WorkflowDef def(
      "wf_resume_retry",
      [&](pgqrs::Run& run, const json&) {
        return json{{"n", pgqrs::workflow_step(run, "flaky", [&] {
                       if (calls.bump("flaky") == 1) throw pgqrs::TransientStepError("not yet");
                       return calls.get("flaky");
                     })}};
      },
      hourly);
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(calls.get("flaky"), 1);
  ASSERT_NE(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  Drain(def);
  EXPECT_EQ(calls.get("flaky"), 1) << "the retry waits an hour";

  ASSERT_EQ(Status(run_id), WorkflowStatus::kRunning) << Describe(run_id);
  EXPECT_FALSE(pgqrs::admin(store()).resume_run(run_id));
  Drain(def);
  EXPECT_EQ(calls.get("flaky"), 1) << "the back-off still holds";
  Advance(1h);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls.get("flaky"), 2);
}

TEST_P(WorkflowResumeTest, OnlyAPausedRunIsResumedAndAnUnknownOneIsAnError) {
  pgqrs::WorkflowDef def("wf_resume_queued", [](pgqrs::Run&, const json&) { return json(1); });
  Register(def);
  const auto run_id = Trigger(def);
  EXPECT_FALSE(pgqrs::admin(store()).resume_run(run_id)) << "QUEUED: nothing to resume";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kQueued);
  EXPECT_THROW(pgqrs::admin(store()).resume_run(987654), pgqrs::ValidationError);
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowResumeTest);

}  // namespace
}  // namespace pgqrs_test
