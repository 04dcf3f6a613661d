// SPEC §5 durable timers and cancellation: run.pause / pgqrs::sleep make the run PAUSED
// with its message invisible until the wake time, and it resumes without re-running
// finished steps; run.cancel moves QUEUED|RUNNING|PAUSED -> CANCELLING, observed before
// start and at every step boundary (an in-flight step finishes and is recorded); a finished
// run cannot be cancelled.
#include <future>
#include <string>
#include <vector>

#include "conformance/workflow_test_support.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowPauseTest : public WorkflowTest {
 protected:
  // Checks run `run_id` of `def` is PAUSED with its message invisible until `wake`.
  void ExpectPausedUntil(const pgqrs::WorkflowDef& def, std::int64_t run_id,
                         pgqrs::TimePoint wake) {
    EXPECT_EQ(Status(run_id), WorkflowStatus::kPaused) << Describe(run_id);
    EXPECT_EQ(MillisBetween(MessageOf(run_id).vt, wake), 0) << "message vt = wake time";
    pgqrs::QueueMetrics m = Metrics(def);
    EXPECT_EQ(m.pending, 0u) << "a paused run's message is not visible";
    EXPECT_EQ(m.leased, 0u) << "a paused run holds no lease";
    EXPECT_EQ(m.delayed, 1u);
    EXPECT_FALSE(pgqrs::run().id(run_id).store(store()).get().has_value());
  }
};

TEST_P(WorkflowPauseTest, PauseMakesTheRunPausedAndInvisibleUntilResumeTime) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_pause", [&](pgqrs::Run& run, const json&) {
    calls.bump("handler");
    auto a = pgqrs::workflow_step(run, "before", [&] { return calls.bump("before"); });
    try {
      run.pause("waiting for approval", 60s);
    } catch (const pgqrs::PausedError&) {
      calls.bump("paused-error");
      throw;
    }
    auto b = pgqrs::workflow_step(run, "after", [&] { return calls.bump("after"); });
    return json{{"a", a}, {"b", b}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  const pgqrs::TimePoint paused_at = now();
  Drain(def);
  EXPECT_EQ(calls.get("paused-error"), 1) << "pause() unwinds the handler with PausedError";
  ExpectPausedUntil(def, run_id, paused_at + 60s);
  EXPECT_THROW(pgqrs::run().id(run_id).store(store()).result(0ms), pgqrs::TimeoutError);

  Advance(59s);
  Drain(def);
  EXPECT_EQ(calls.get("handler"), 1) << "not resumed before the wake time";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kPaused);

  Advance(1s);
  Drain(def);
  EXPECT_EQ(calls.get("handler"), 2);
  EXPECT_EQ(calls.get("before"), 1) << "a finished step is not re-run after a pause";
  EXPECT_EQ(calls.get("after"), 1);
  EXPECT_EQ(calls.get("paused-error"), 1) << "an elapsed pause returns normally on replay";
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, std::optional<json>(json{{"a", 1}, {"b", 1}}));
}

TEST_P(WorkflowPauseTest, SleepPausesUntilDueThenContinues) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_sleep", [&](pgqrs::Run& run, const json&) {
    calls.bump("handler");
    pgqrs::workflow_step(run, "first", [&] { return calls.bump("first"); });
    pgqrs::sleep(run, "nap", 1500ms);
    pgqrs::workflow_step(run, "second", [&] { return calls.bump("second"); });
    return json{{"slept", true}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  const pgqrs::TimePoint slept_at = now();
  Drain(def);
  ExpectPausedUntil(def, run_id, slept_at + 1500ms);
  auto nap = Step(run_id, "nap");
  ASSERT_TRUE(nap.has_value()) << "a sleep is recorded as a step of the run";
  EXPECT_EQ(nap->status, WorkflowStatus::kPaused) << "a sleep not yet due is PAUSED";

  Advance(1499ms);
  Drain(def);
  EXPECT_EQ(calls.get("handler"), 1);
  Advance(1ms);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls.get("first"), 1);
  EXPECT_EQ(calls.get("second"), 1);
  EXPECT_EQ(Step(run_id, "nap")->status, WorkflowStatus::kSuccess)
      << "an elapsed sleep is a finished step";
}

TEST_P(WorkflowPauseTest, AnElapsedSleepIsNotSleptAgainOnLaterExecutions) {
  Counters calls;
  pgqrs::WorkflowDef def(
      "wf_sleep_once",
      [&](pgqrs::Run& run, const json&) {
        pgqrs::sleep(run, "nap", 10s);
        pgqrs::workflow_step(run, "flaky", [&] {
          if (calls.bump("flaky") == 1) throw pgqrs::TransientStepError("once");
        });
        return json{};
      },
      Fixed(3, 1000ms));
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  Advance(10s);
  Drain(def);  // nap is due; flaky fails and waits 1 s
  EXPECT_EQ(calls.get("flaky"), 1);
  Advance(1s);
  Drain(def);  // replays past the nap straight into the retry
  EXPECT_EQ(calls.get("flaky"), 2);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
}

TEST_P(WorkflowPauseTest, APausedRunResumesFromANewStoreWithoutRerunningSteps) {
  if (!GetParam().persistent) {
    GTEST_SKIP() << "an in-memory database does not outlive its store";
  }
  Counters calls;
  pgqrs::WorkflowDef def("wf_pause_restart", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "before", [&] { return calls.bump("before"); });
    run.pause("overnight", 3600s);
    pgqrs::workflow_step(run, "after", [&] { return calls.bump("after"); });
    return json{{"done", true}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused);
  // A new process: a fresh store and consumer on the same database.
  pgqrs::Store restarted = pgqrs::connect_with_config(config_, clock_);
  Register(restarted, def);
  Drain(restarted, def);
  EXPECT_EQ(calls.get("after"), 0);
  Advance(3600s);
  Drain(restarted, def);
  EXPECT_EQ(calls.get("before"), 1);
  EXPECT_EQ(calls.get("after"), 1);
  EXPECT_EQ(pgqrs::run().id(run_id).store(restarted).get(),
            std::optional<json>(json{{"done", true}}));
}

TEST_P(WorkflowPauseTest, ManySleepsBeyondMaxReadCtStillComplete) {
  // Each sleep is one more delivery of the run's message; a wait is not a failed delivery,
  // so it must never count towards max_read_ct (5) and dead-letter the run.
  Counters calls;
  pgqrs::WorkflowDef def("wf_many_sleeps", [&](pgqrs::Run& run, const json&) {
    for (int i = 0; i < 7; ++i) pgqrs::sleep(run, "nap-" + std::to_string(i), 1s);
    pgqrs::workflow_step(run, "end", [&] { return calls.bump("end"); });
    return json{{"naps", 7}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  for (int i = 0; i < 10 && !pgqrs::is_terminal(Status(run_id)); ++i) {
    Drain(def);
    Advance(1s);
  }
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls.get("end"), 1);
  EXPECT_TRUE(admin().dlq(def.name()).empty()) << "the run's message was dead-lettered";
}

TEST_P(WorkflowPauseTest, AHandlerThatSwallowsAPauseDoesNotLoseTheRun) {
  // Handlers must let PausedError propagate, but a broad `catch (const std::exception&)`
  // around a sleep is an easy mistake. Whatever the engine makes of it, the run must not
  // be lost: it may not stay non-terminal with no message left to deliver it.
  pgqrs::WorkflowDef def("wf_swallowed_pause", [&](pgqrs::Run& run, const json&) {
    try {
      pgqrs::sleep(run, "nap", 10s);
    } catch (const std::exception&) {
      // swallowed (the mistake under test)
    }
    return json{{"x", 1}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  Advance(20s);
  Drain(def);
  EXPECT_TRUE(pgqrs::is_terminal(Status(run_id)))
      << Describe(run_id) << "; queue: pending " << Metrics(def).pending << ", delayed "
      << Metrics(def).delayed << ", archived " << Metrics(def).archived;
}

TEST_P(WorkflowPauseTest, NegativeSleepIsAValidationError) {
  std::string caught;
  pgqrs::WorkflowDef def("wf_neg_sleep", [&](pgqrs::Run& run, const json&) {
    try {
      pgqrs::sleep(run, "nap", -1ms);
    } catch (const pgqrs::ValidationError& e) {
      caught = e.what();
    }
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_FALSE(caught.empty()) << "sleep(-1ms) must be rejected";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
}

// ---- cancellation ------------------------------------------------------------------------

class WorkflowCancelTest : public WorkflowTest {
 protected:
  void ExpectCancelledAndIdle(const pgqrs::WorkflowDef& def, std::int64_t run_id) {
    EXPECT_EQ(Status(run_id), WorkflowStatus::kCancelled) << Describe(run_id);
    EXPECT_THROW(pgqrs::run().id(run_id).store(store()).result(1s), pgqrs::CancelledError);
    EXPECT_THROW(pgqrs::run().id(run_id).store(store()).get(), pgqrs::CancelledError);
    pgqrs::QueueMetrics m = Metrics(def);
    EXPECT_EQ(m.pending + m.delayed + m.leased + m.dead, 0u)
        << "a cancelled run leaves no message to deliver";
  }
};

TEST_P(WorkflowCancelTest, CancelQueuedRunIsObservedBeforeStart) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_cancel_queued", [&](pgqrs::Run&, const json&) {
    calls.bump("handler");
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  EXPECT_TRUE(CancelRun(store(), run_id));
  EXPECT_EQ(Status(run_id), WorkflowStatus::kCancelling);
  EXPECT_FALSE(pgqrs::run().id(run_id).store(store()).get().has_value())
      << "CANCELLING is not finished yet";
  EXPECT_FALSE(CancelRun(store(), run_id)) << "a run already cancelling: false";
  Drain(def);
  EXPECT_EQ(calls.get("handler"), 0) << "the handler of a run cancelled before start never runs";
  ExpectCancelledAndIdle(def, run_id);
  EXPECT_TRUE(Steps(run_id).empty());
}

TEST_P(WorkflowCancelTest, CancelRunningRunLetsTheInFlightStepFinishAndStopsAtTheNextStep) {
  Counters calls;
  Gate entered;
  Gate release;
  pgqrs::WorkflowDef def("wf_cancel_running", [&](pgqrs::Run& run, const json&) {
    auto v = pgqrs::workflow_step(run, "in_flight", [&] {
      entered.open();
      EXPECT_TRUE(release.wait()) << "the test never released the step";
      calls.bump("in_flight");
      return std::string("finished");
    });
    pgqrs::workflow_step(run, "next", [&] { calls.bump("next"); });
    return json{{"v", v}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  auto worker = std::async(std::launch::async, [&] { return Drain(def); });
  ASSERT_TRUE(entered.wait()) << "the worker never started the step";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kRunning);
  EXPECT_TRUE(CancelRun(store(), run_id));
  EXPECT_EQ(Status(run_id), WorkflowStatus::kCancelling);
  release.open();
  ASSERT_TRUE(WaitReady(worker, 30s));
  worker.get();

  EXPECT_EQ(calls.get("in_flight"), 1);
  EXPECT_EQ(calls.get("next"), 0) << "cancellation is observed at the next step boundary";
  auto in_flight = Step(run_id, "in_flight");
  ASSERT_TRUE(in_flight.has_value());
  EXPECT_EQ(in_flight->status, WorkflowStatus::kSuccess) << "the in-flight step is recorded";
  EXPECT_EQ(in_flight->output, std::optional<json>(json("finished")));
  auto next = Step(run_id, "next");
  EXPECT_TRUE(!next.has_value() || next->status != WorkflowStatus::kSuccess);
  ExpectCancelledAndIdle(def, run_id);
}

TEST_P(WorkflowCancelTest, CancelFromInsideTheHandlerStopsAtTheNextStep) {
  Counters calls;
  std::vector<bool> cancel_results;
  pgqrs::WorkflowDef def("wf_cancel_self", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "one", [&] {
      cancel_results.push_back(run.cancel());
      cancel_results.push_back(run.cancel());
      return calls.bump("one");
    });
    try {
      pgqrs::workflow_step(run, "two", [&] { return calls.bump("two"); });
    } catch (const pgqrs::CancelledError&) {
      calls.bump("cancelled-error");
      throw;
    }
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(cancel_results, (std::vector<bool>{true, false}));
  EXPECT_EQ(calls.get("one"), 1);
  EXPECT_EQ(calls.get("two"), 0);
  EXPECT_EQ(calls.get("cancelled-error"), 1) << "the next step boundary throws CancelledError";
  EXPECT_EQ(Step(run_id, "one")->status, WorkflowStatus::kSuccess);
  ExpectCancelledAndIdle(def, run_id);
}

TEST_P(WorkflowCancelTest, CancelDuringTheLastStepEndsTheRunCancelled) {
  // The end of the handler is a step boundary too: a run asked to cancel never ends
  // SUCCESS, even when no further step follows.
  pgqrs::WorkflowDef def("wf_cancel_last", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "last", [&] { return run.cancel(); });
    return json{{"finished", true}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(Step(run_id, "last")->status, WorkflowStatus::kSuccess);
  ExpectCancelledAndIdle(def, run_id);
}

TEST_P(WorkflowCancelTest, ADurableSleepAfterCancellationDoesNotDelayIt) {
  // A sleep is a step of the run (it is recorded as one), so reaching it is a step
  // boundary: a run being cancelled must end CANCELLED now, not after the sleep's wake
  // time.
  Counters calls;
  pgqrs::WorkflowDef def("wf_cancel_then_sleep", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "one", [&] { return run.cancel(); });
    pgqrs::sleep(run, "nap", 3600s);
    calls.bump("after-nap");
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(calls.get("after-nap"), 0);
  ExpectCancelledAndIdle(def, run_id);
}

TEST_P(WorkflowCancelTest, APauseAfterCancellationDoesNotDelayIt) {
  pgqrs::WorkflowDef def("wf_cancel_then_pause", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "one", [&] { return run.cancel(); });
    run.pause("approval", 3600s);
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ExpectCancelledAndIdle(def, run_id);
}

TEST_P(WorkflowCancelTest, CancelPausedRunIsObservedPromptly) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_cancel_paused", [&](pgqrs::Run& run, const json&) {
    calls.bump("handler");
    pgqrs::workflow_step(run, "before", [&] { return calls.bump("before"); });
    run.pause("approval", 3600s);
    pgqrs::workflow_step(run, "after", [&] { return calls.bump("after"); });
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << Describe(run_id);
  EXPECT_TRUE(CancelRun(store(), run_id));
  EXPECT_EQ(Status(run_id), WorkflowStatus::kCancelling);
  Drain(def);  // no clock movement: the pause must not delay the cancellation
  EXPECT_EQ(calls.get("after"), 0);
  ExpectCancelledAndIdle(def, run_id);
  Advance(3600s);
  Drain(def);
  EXPECT_EQ(calls.get("after"), 0) << "a cancelled run never resumes";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kCancelled);
}

TEST_P(WorkflowCancelTest, CancelRunWaitingForARetryIsObservedPromptly) {
  Counters calls;
  pgqrs::WorkflowDef def(
      "wf_cancel_retry",
      [&](pgqrs::Run& run, const json&) {
        pgqrs::workflow_step(run, "flaky", [&]() -> int {
          calls.bump("flaky");
          throw pgqrs::TransientStepError("later");
        });
        return json{};
      },
      Fixed(5, 3600000ms));
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_FALSE(pgqrs::is_terminal(Status(run_id))) << Describe(run_id);
  EXPECT_TRUE(CancelRun(store(), run_id));
  Drain(def);
  EXPECT_EQ(calls.get("flaky"), 1);
  ExpectCancelledAndIdle(def, run_id);
}

TEST_P(WorkflowCancelTest, CancellingAFinishedRunReturnsFalseAndChangesNothing) {
  pgqrs::WorkflowDef ok("wf_fin_ok", [](pgqrs::Run&, const json&) { return json{{"r", 1}}; });
  pgqrs::WorkflowDef bad(
      "wf_fin_bad", [](pgqrs::Run&, const json&) -> json { throw std::runtime_error("failed"); });
  pgqrs::WorkflowDef gone("wf_fin_cancelled", [](pgqrs::Run&, const json&) { return json{}; });
  Register(ok);
  Register(bad);
  Register(gone);
  const auto ok_run = Trigger(ok);
  const auto bad_run = Trigger(bad);
  const auto gone_run = Trigger(gone);
  ASSERT_TRUE(CancelRun(store(), gone_run));
  Drain(ok);
  Drain(bad);
  Drain(gone);
  ASSERT_EQ(Status(ok_run), WorkflowStatus::kSuccess);
  ASSERT_EQ(Status(bad_run), WorkflowStatus::kError);
  ASSERT_EQ(Status(gone_run), WorkflowStatus::kCancelled);
  Advance(10s);
  for (auto id : {ok_run, bad_run, gone_run}) {
    SCOPED_TRACE("run " + std::to_string(id));
    const pgqrs::RunRecord before = Record(id);
    EXPECT_FALSE(CancelRun(store(), id));
    const pgqrs::RunRecord after = Record(id);
    EXPECT_EQ(after.status, before.status);
    EXPECT_EQ(after.output, before.output);
    EXPECT_EQ(after.error, before.error);
    EXPECT_EQ(MillisBetween(after.updated_at, before.updated_at), 0);
    EXPECT_EQ(MessageOf(id).archived_at.has_value(), true);
  }
  EXPECT_EQ(pgqrs::run().id(ok_run).store(store()).result(1s), (json{{"r", 1}}));
}

TEST_P(WorkflowCancelTest, CancellingAnUnknownRunIsAValidationError) {
  EXPECT_THROW(CancelRun(store(), 987654321), pgqrs::ValidationError);
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowPauseTest);
PGQRS_INSTANTIATE_CONFORMANCE(WorkflowCancelTest);

}  // namespace
}  // namespace pgqrs_test
