// Driving a run by hand (SPEC §5, the API the Python Run handle maps onto):
// RunBuilder::execute, Run::start / complete / fail / with_time, and Consumer::dequeue_at.
#include "conformance/workflow_test_support.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class ManualRunTest : public WorkflowTest {
 protected:
  std::int64_t TriggerNamed(const std::string& name, const json& input) {
    pgqrs::workflow().name(name).create(store());
    auto msg = pgqrs::workflow().name(name).trigger(input).execute(store());
    return RunIdOf(msg);
  }
};

TEST_P(ManualRunTest, StartStepsAndCompleteRecordSuccess) {
  const auto id = TriggerNamed("manual_ok", json{{"n", 2}});
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  EXPECT_EQ(run.id(), id);
  EXPECT_EQ(run.input(), (json{{"n", 2}}));
  EXPECT_EQ(Status(id), WorkflowStatus::kQueued) << "execute() alone changes nothing";
  run.start();
  EXPECT_EQ(Status(id), WorkflowStatus::kRunning);
  auto step = run.acquire_step("double");
  ASSERT_EQ(step.status, pgqrs::StepResult::Status::kExecute);
  run.complete_step("double", 4);
  EXPECT_TRUE(run.complete(json{{"out", 4}}));
  EXPECT_EQ(pgqrs::run().id(id).store(store()).get(), (json{{"out", 4}}));
  EXPECT_FALSE(run.complete(json{{"out", 5}})) << "a finished run is final";

  // A second execution replays the recorded step.
  pgqrs::Run again = pgqrs::run().id(id).store(store()).execute();
  EXPECT_THROW(again.start(), pgqrs::ValidationError) << "a SUCCESS run cannot be started";
}

TEST_P(ManualRunTest, FailRecordsErrorAndResultRaisesExecutionFailed) {
  const auto id = TriggerNamed("manual_fail", json::object());
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  EXPECT_FALSE(run.fail(json{{"message", "early"}})) << "not running yet";
  run.start();
  EXPECT_TRUE(run.fail(json{{"message", "boom"}}));
  EXPECT_EQ(Status(id), WorkflowStatus::kError);
  EXPECT_THROW(pgqrs::run().id(id).store(store()).get(), pgqrs::ExecutionFailedError);
}

TEST_P(ManualRunTest, StartingACancellingRunCancelsItAndSaysSo) {
  const auto id = TriggerNamed("manual_cancel", json::object());
  ASSERT_TRUE(CancelRun(store(), id));
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  try {
    run.start();
    ADD_FAILURE() << "start() of a CANCELLING run must throw";
  } catch (const pgqrs::ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("CANCELLING"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Status(id), WorkflowStatus::kCancelled);
}

TEST_P(ManualRunTest, CompleteAfterACancelRequestEndsCancelled) {
  const auto id = TriggerNamed("manual_cancel_late", json::object());
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  run.start();
  ASSERT_TRUE(CancelRun(store(), id));
  EXPECT_TRUE(run.complete(json{{"ignored", true}}));
  EXPECT_EQ(Status(id), WorkflowStatus::kCancelled);
}

TEST_P(ManualRunTest, CompleteWithNonFiniteOutputRecordsNothing) {
  const auto id = TriggerNamed("manual_nan", json::object());
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  run.start();
  EXPECT_THROW(run.complete(json(std::nan(""))), pgqrs::SerializationError);
  EXPECT_EQ(Status(id), WorkflowStatus::kRunning);
}

TEST_P(ManualRunTest, WithTimeTakesNowFromTheGivenTime) {
  const auto id = TriggerNamed("manual_time", json::object());
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  run.start();
  const auto later = now() + 1h;
  pgqrs::Run at = run.with_time(later);
  EXPECT_EQ(at.current_time(), later);
  EXPECT_EQ(run.current_time(), now()) << "the original handle keeps the store's clock";
  // A pause of 30 min taken "an hour from now" is due 90 min from now.
  EXPECT_THROW(at.pause("wait", 30min), pgqrs::PausedError);
  auto timer = Step(id, "pause:1");
  ASSERT_TRUE(timer.has_value());
  ASSERT_TRUE(timer->retry_at.has_value());
  EXPECT_EQ(MillisBetween(*timer->retry_at, later + 30min), 0);
}

TEST_P(ManualRunTest, ExecuteOfAnUnknownRunIsAValidationError) {
  EXPECT_THROW(pgqrs::run().id(987654).store(store()).execute(), pgqrs::ValidationError);
}

TEST_P(ManualRunTest, DequeueAtLeasesAsOfTheGivenTime) {
  store().queue("at_q");
  pgqrs::enqueue().message(json{{"k", 1}}).to("at_q").delay(60s).execute(store());
  auto c = pgqrs::consumer("at-consumer", "at_q").create(store());
  EXPECT_TRUE(c.dequeue(1).empty()) << "delayed 60 s";
  const auto later = now() + 2min;
  auto got = c.dequeue_at(1, 10s, later);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(MillisBetween(got[0].vt, later + 10s), 0);
  c.release_messages({got[0].id});
}

TEST_P(ManualRunTest, InAWorkersHandlerStartCompleteAndFailLeaveTheOutcomeToTheWorker) {
  pgqrs::WorkflowDef def("manual_in_worker", [](pgqrs::Run& run, const json& in) {
    run.start();                                       // already RUNNING: no-op
    EXPECT_TRUE(run.complete(json{{"early", true}}));  // only checked
    EXPECT_THROW(run.complete(json(std::nan(""))), pgqrs::SerializationError);
    EXPECT_TRUE(run.fail(json{{"message", "ignored"}}));
    return json{{"out", in.at("n").get<int>() + 1}};
  });
  Register(def);
  const auto id = Trigger(def, json{{"n", 1}});
  auto stats = Drain(def);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->processed, 1u) << "the worker recorded the success itself";
  EXPECT_EQ(Status(id), WorkflowStatus::kSuccess);
  EXPECT_EQ(Record(id).output, (json{{"out", 2}}));
}

// The original pgqrs step protocol (issue 13, docs/decisions.md Y3): acquire_step depends only
// on the stored row; a transient failure is ERROR with retry_at while a retry is left.
TEST_P(ManualRunTest, AcquireStepDependsOnlyOnTheStoredRow) {
  const auto id = TriggerNamed("manual_row", json::object());
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();  // not started
  const auto t0 = now();
  pgqrs::Run at0 = run.with_time(t0);
  ASSERT_EQ(at0.acquire_step("s").status, pgqrs::StepResult::Status::kExecute);
  ASSERT_EQ(at0.acquire_step("s").status, pgqrs::StepResult::Status::kExecute)
      << "RUNNING: Execute again (outside a worker a name may be acquired any number of times)";

  auto retry_at = at0.record_step_transient("s", json{{"code", "E"}}, 30s);
  ASSERT_TRUE(retry_at.has_value());
  EXPECT_EQ(MillisBetween(*retry_at, t0), 30000);
  auto row = Step(id, "s");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, WorkflowStatus::kError);
  EXPECT_EQ(row->retry_count, 1);
  EXPECT_THROW(run.with_time(t0 + 29s).acquire_step("s"), pgqrs::StepNotReadyError);
  EXPECT_EQ(Step(id, "s")->status, WorkflowStatus::kError) << "not ready: nothing changes";

  ASSERT_EQ(run.with_time(t0 + 30s).acquire_step("s").status, pgqrs::StepResult::Status::kExecute);
  row = Step(id, "s");
  EXPECT_EQ(row->status, WorkflowStatus::kRunning);
  EXPECT_FALSE(row->retry_at.has_value());
  EXPECT_FALSE(row->error.has_value()) << "the error is cleared";
  EXPECT_EQ(row->retry_count, 1) << "retry_count is kept";

  run.fail_step("s", json{{"message", "bad"}});
  for (int i = 0; i < 2; ++i) {
    EXPECT_THROW(run.with_time(t0 + 1h).acquire_step("s"), pgqrs::RetriesExhaustedError);
  }
}

TEST_P(ManualRunTest, TransientFailuresStopAfterMaxAttemptsWithRetryAtNull) {
  const auto id = TriggerNamed("manual_max", json::object());
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  const pgqrs::StepRetryPolicy policy{2, pgqrs::BackoffStrategy::fixed(1s)};
  auto t = now();
  for (int n = 0; n < 2; ++n) {
    ASSERT_EQ(run.with_time(t).acquire_step("s").status, pgqrs::StepResult::Status::kExecute);
    auto at = run.with_time(t).record_step_transient("s", json{{"n", n}}, std::nullopt, policy);
    ASSERT_TRUE(at.has_value()) << n;
    t = *at;
  }
  ASSERT_EQ(run.with_time(t).acquire_step("s").status, pgqrs::StepResult::Status::kExecute);
  EXPECT_FALSE(run.with_time(t).record_step_transient("s", json{{"n", 2}}, std::nullopt, policy))
      << "no retry left: retry_at stays NULL";
  auto row = Step(id, "s");
  EXPECT_EQ(row->status, WorkflowStatus::kError);
  EXPECT_FALSE(row->retry_at.has_value());
  EXPECT_EQ(row->retry_count, 2);
  EXPECT_THROW(run.with_time(t + 1h).acquire_step("s"), pgqrs::RetriesExhaustedError);
}

TEST_P(ManualRunTest, PauseRunRecordsAndStartResumes) {
  const auto id = TriggerNamed("manual_pause", json::object());
  pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
  run.start();
  EXPECT_TRUE(run.pause_run("approval", 30s));
  const auto rec = pgqrs::run().id(id).store(store()).record();
  EXPECT_EQ(rec.status, WorkflowStatus::kPaused);
  EXPECT_EQ(rec.error, (json{{"message", "approval"}, {"resume_after", 30}}));
  EXPECT_TRUE(run.steps().empty()) << "no step row";
  run.start();
  EXPECT_EQ(Status(id), WorkflowStatus::kRunning);
  EXPECT_TRUE(run.complete(json{{"ok", true}}));
  EXPECT_FALSE(run.pause_run("late", 1s)) << "a finished run is not paused";
  const std::string what =
      ExpectThrowMessage<pgqrs::ValidationError>([&] { run.start(); }, "start");
  EXPECT_NE(what.find("Run " + std::to_string(id) + " is in terminal SUCCESS state"),
            std::string::npos)
      << what;
}

PGQRS_INSTANTIATE_CONFORMANCE(ManualRunTest);

}  // namespace
}  // namespace pgqrs_test
