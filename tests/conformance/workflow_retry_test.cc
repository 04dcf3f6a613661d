// SPEC §5 retries: a TransientStepError is retried under the step's (else the workflow's)
// StepRetryPolicy; while waiting, the run's message is invisible until retry_at; exhausted
// retries raise RetriesExhaustedError and the run ends ERROR.
//
// StepRetryPolicy.max_attempts counts retries after the first failure, so a step runs at
// most max_attempts + 1 times. Retry number k (1 = first retry) waits delay_for(k).
#include <set>
#include <string>
#include <vector>

#include "conformance/workflow_test_support.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::BackoffStrategy;
using pgqrs::json;
using pgqrs::StepRetryPolicy;
using pgqrs::WorkflowStatus;

// ---- BackoffStrategy itself (pure; no backend) ------------------------------------------

TEST(WorkflowBackoffStrategy, FixedIsTheSameDelayForEveryAttempt) {
  auto b = BackoffStrategy::fixed(1500ms);
  EXPECT_EQ(b.kind, BackoffStrategy::Kind::kFixed);
  for (std::uint32_t attempt : {1u, 2u, 5u, 30u}) EXPECT_EQ(b.delay_for(attempt), 1500ms);
}

TEST(WorkflowBackoffStrategy, ExponentialDoublesFromBaseUpToCap) {
  auto b = BackoffStrategy::exponential(1000ms, 10000ms);
  EXPECT_EQ(b.kind, BackoffStrategy::Kind::kExponential);
  EXPECT_EQ(b.delay_for(1), 1000ms);
  EXPECT_EQ(b.delay_for(2), 2000ms);
  EXPECT_EQ(b.delay_for(3), 4000ms);
  EXPECT_EQ(b.delay_for(4), 8000ms);
  EXPECT_EQ(b.delay_for(5), 10000ms);
  EXPECT_EQ(b.delay_for(64), 10000ms) << "no overflow for large attempts";
  EXPECT_EQ(b.delay_for(1000), 10000ms);
}

TEST(WorkflowBackoffStrategy, JitterStaysWithinHalfToFullExponentialDelay) {
  auto b = BackoffStrategy::exponential_with_jitter(1000ms, 6000ms);
  EXPECT_EQ(b.kind, BackoffStrategy::Kind::kExponentialWithJitter);
  const std::vector<std::chrono::milliseconds> full = {1000ms, 2000ms, 4000ms, 6000ms, 6000ms};
  for (std::uint32_t attempt = 1; attempt <= full.size(); ++attempt) {
    const auto d = full[attempt - 1];
    std::set<long long> distinct;
    for (int i = 0; i < 200; ++i) {
      const auto got = b.delay_for(attempt);
      EXPECT_GE(got, d / 2) << "attempt " << attempt;
      EXPECT_LE(got, d) << "attempt " << attempt;
      distinct.insert(got.count());
    }
    EXPECT_GT(distinct.size(), 1u) << "attempt " << attempt << ": jitter should vary";
  }
}

TEST(WorkflowBackoffStrategy, DefaultPolicyIsThreeRetriesJitteredOneToSixtySeconds) {
  StepRetryPolicy p;
  EXPECT_EQ(p.max_attempts, 3u);
  EXPECT_EQ(p.backoff.kind, BackoffStrategy::Kind::kExponentialWithJitter);
  EXPECT_EQ(p.backoff.base, 1000ms);
  EXPECT_EQ(p.backoff.cap, 60000ms);
}

// ---- retries through a worker, on every backend -----------------------------------------

class WorkflowRetryTest : public WorkflowTest {
 protected:
  // A workflow "name" with one step "flaky" that throws TransientStepError for its first
  // `failures` executions, then returns "ok". `step_policy` is passed to workflow_step.
  pgqrs::WorkflowDef Flaky(const std::string& name, int failures,
                           std::optional<StepRetryPolicy> step_policy = std::nullopt,
                           StepRetryPolicy wf_policy = {},
                           std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    return pgqrs::WorkflowDef(
        name,
        [this, failures, step_policy, retry_after](pgqrs::Run& run, const json&) {
          calls_.bump("handler");
          try {
            auto v = pgqrs::workflow_step(
                run, "flaky",
                [&] {
                  const int n = calls_.bump("flaky");
                  if (n <= failures) {
                    throw pgqrs::TransientStepError("flaky failure #" + std::to_string(n),
                                                    retry_after);
                  }
                  return std::string("ok");
                },
                step_policy);
            return json{{"v", v}};
          } catch (const pgqrs::RetriesExhaustedError&) {
            calls_.bump("exhausted");
            throw;
          }
        },
        wf_policy);
  }

  // Drains once and checks the step now waits for retry number `k` at `expected_delay`
  // after the current time (the time of the failure); returns the step record.
  pgqrs::StepRecord ExpectWaitingForRetry(const pgqrs::WorkflowDef& def, std::int64_t run_id, int k,
                                          std::chrono::milliseconds expected_delay) {
    const pgqrs::TimePoint failed_at = now();
    Drain(def);
    auto step = Step(run_id, "flaky");
    EXPECT_TRUE(step.has_value());
    if (!step) return {};
    EXPECT_EQ(step->status, WorkflowStatus::kError)
        << "a step waiting for its retry is ERROR with retry_at";
    EXPECT_EQ(step->retry_count, k);
    EXPECT_TRUE(step->retry_at.has_value());
    if (step->retry_at) {
      EXPECT_EQ(MillisBetween(*step->retry_at, failed_at), expected_delay.count()) << "retry " << k;
      EXPECT_EQ(MillisBetween(MessageOf(run_id).vt, *step->retry_at), 0)
          << "the run's message is released with vt = retry_at";
    }
    EXPECT_TRUE(step->error.has_value());
    if (step->error) {
      EXPECT_NE(step->error->dump().find("flaky failure #" + std::to_string(k)), std::string::npos)
          << step->error->dump();
    }
    EXPECT_FALSE(pgqrs::is_terminal(Status(run_id))) << Describe(run_id);
    pgqrs::QueueMetrics m = Metrics(def);
    EXPECT_EQ(m.pending, 0u) << "no busy polling: the message is not visible before retry_at";
    EXPECT_EQ(m.leased, 0u) << "the message is released while the run waits";
    EXPECT_EQ(m.delayed, 1u);
    EXPECT_EQ(m.dead, 0u);
    return *step;
  }

  // Moves the clock to 1 ms before `step.retry_at`, checks nothing runs, then to retry_at.
  void AdvanceToRetry(const pgqrs::WorkflowDef& def, const pgqrs::StepRecord& step) {
    ASSERT_TRUE(step.retry_at.has_value());
    const int before = calls_.get("flaky");
    clock_->set(*step.retry_at - 1ms);
    Drain(def);
    EXPECT_EQ(calls_.get("flaky"), before) << "the step must not run before retry_at";
    clock_->set(*step.retry_at);
  }

  Counters calls_;
};

TEST_P(WorkflowRetryTest, FixedBackoffRetriesAtTheSameIntervalUntilSuccess) {
  auto def = Flaky("wf_fixed", 2, Fixed(3, 2500ms));
  Register(def);
  const auto run_id = Trigger(def);
  auto s1 = ExpectWaitingForRetry(def, run_id, 1, 2500ms);
  AdvanceToRetry(def, s1);
  auto s2 = ExpectWaitingForRetry(def, run_id, 2, 2500ms);
  AdvanceToRetry(def, s2);
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 3);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, std::optional<json>(json{{"v", "ok"}}));
  EXPECT_EQ(Step(run_id, "flaky")->status, WorkflowStatus::kSuccess);
  EXPECT_EQ(Step(run_id, "flaky")->output, std::optional<json>(json("ok")));
}

TEST_P(WorkflowRetryTest, ExponentialBackoffDoublesUpToTheCap) {
  auto def = Flaky("wf_exp", 3, StepRetryPolicy{3, BackoffStrategy::exponential(3000ms, 5000ms)});
  Register(def);
  const auto run_id = Trigger(def);
  auto s1 = ExpectWaitingForRetry(def, run_id, 1, 3000ms);
  AdvanceToRetry(def, s1);
  auto s2 = ExpectWaitingForRetry(def, run_id, 2, 5000ms);  // 6 s capped at 5 s
  AdvanceToRetry(def, s2);
  auto s3 = ExpectWaitingForRetry(def, run_id, 3, 5000ms);
  AdvanceToRetry(def, s3);
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 4);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
}

TEST_P(WorkflowRetryTest, ExponentialWithJitterWaitsBetweenHalfAndFullDelay) {
  auto def = Flaky("wf_jitter", 3,
                   StepRetryPolicy{3, BackoffStrategy::exponential_with_jitter(2000ms, 60000ms)});
  Register(def);
  const auto run_id = Trigger(def);
  for (int k = 1; k <= 3; ++k) {
    SCOPED_TRACE("retry " + std::to_string(k));
    const pgqrs::TimePoint failed_at = now();
    Drain(def);
    auto step = Step(run_id, "flaky");
    ASSERT_TRUE(step.has_value());
    ASSERT_TRUE(step->retry_at.has_value()) << "step status " << pgqrs::to_string(step->status);
    EXPECT_EQ(step->retry_count, k);
    const long long full = 2000LL << (k - 1);
    const long long waited = MillisBetween(*step->retry_at, failed_at);
    EXPECT_GE(waited, full / 2);
    EXPECT_LE(waited, full);
    EXPECT_EQ(MillisBetween(MessageOf(run_id).vt, *step->retry_at), 0);
    EXPECT_EQ(Metrics(def).pending, 0u);
    clock_->set(*step->retry_at);
  }
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 4);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
}

TEST_P(WorkflowRetryTest, DefaultPolicyRetriesThreeTimesWithJitteredOneSecondBase) {
  auto def = Flaky("wf_default", 100);  // never succeeds
  Register(def);
  const auto run_id = Trigger(def);
  const pgqrs::TimePoint failed_at = now();
  Drain(def);
  auto step = Step(run_id, "flaky");
  ASSERT_TRUE(step.has_value());
  ASSERT_TRUE(step->retry_at.has_value());
  const long long waited = MillisBetween(*step->retry_at, failed_at);
  EXPECT_GE(waited, 500);
  EXPECT_LE(waited, 1000);
  for (int i = 0; i < 3; ++i) {
    Advance(60s);
    Drain(def);
  }
  EXPECT_EQ(calls_.get("flaky"), 4) << "default: 3 retries after the first failure";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
}

TEST_P(WorkflowRetryTest, ExhaustedRetriesRaiseRetriesExhaustedAndTheRunEndsInError) {
  auto def = Flaky("wf_exhaust", 100, Fixed(2, 1000ms));
  Register(def);
  const auto run_id = Trigger(def);
  auto s1 = ExpectWaitingForRetry(def, run_id, 1, 1000ms);
  AdvanceToRetry(def, s1);
  auto s2 = ExpectWaitingForRetry(def, run_id, 2, 1000ms);
  AdvanceToRetry(def, s2);
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 3) << "max_attempts = 2 retries: 3 executions in all";
  EXPECT_EQ(calls_.get("exhausted"), 1) << "the handler sees RetriesExhaustedError";

  pgqrs::RunRecord rec = Record(run_id);
  EXPECT_EQ(rec.status, WorkflowStatus::kError);
  ASSERT_TRUE(rec.error.has_value());
  EXPECT_NE(rec.error->dump().find("flaky failure #3"), std::string::npos)
      << "the run's error carries the last failure: " << rec.error->dump();
  auto step = Step(run_id, "flaky");
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, WorkflowStatus::kError);
  EXPECT_GE(step->retry_count, 2);
  EXPECT_THROW(pgqrs::run().id(run_id).store(store()).result(1s), pgqrs::ExecutionFailedError);

  Advance(24h);
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 3) << "an exhausted step never runs again";
  pgqrs::QueueMetrics m = Metrics(def);
  EXPECT_EQ(m.pending + m.delayed + m.leased + m.dead, 0u);
}

TEST_P(WorkflowRetryTest, ZeroRetriesFailsOnTheFirstTransientError) {
  auto def = Flaky("wf_zero", 100, Fixed(0, 1000ms));
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 1);
  EXPECT_EQ(calls_.get("exhausted"), 1);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
}

TEST_P(WorkflowRetryTest, RetryAfterOverridesTheBackoff) {
  auto def = Flaky("wf_retry_after", 1, Fixed(3, 10000ms), {}, 2500ms);
  Register(def);
  const auto run_id = Trigger(def);
  auto s1 = ExpectWaitingForRetry(def, run_id, 1, 2500ms);
  AdvanceToRetry(def, s1);
  Drain(def);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls_.get("flaky"), 2);
}

TEST_P(WorkflowRetryTest, WorkflowPolicyAppliesToStepsWithoutTheirOwn) {
  auto def = Flaky("wf_wf_policy", 100, std::nullopt, Fixed(1, 4000ms));
  Register(def);
  const auto run_id = Trigger(def);
  auto s1 = ExpectWaitingForRetry(def, run_id, 1, 4000ms);
  AdvanceToRetry(def, s1);
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 2) << "the workflow's max_attempts = 1";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
}

TEST_P(WorkflowRetryTest, StepPolicyOverridesTheWorkflowPolicy) {
  auto def = Flaky("wf_step_policy", 100, Fixed(2, 7000ms), Fixed(0, 1000ms));
  Register(def);
  const auto run_id = Trigger(def);
  auto s1 = ExpectWaitingForRetry(def, run_id, 1, 7000ms);
  AdvanceToRetry(def, s1);
  auto s2 = ExpectWaitingForRetry(def, run_id, 2, 7000ms);
  AdvanceToRetry(def, s2);
  Drain(def);
  EXPECT_EQ(calls_.get("flaky"), 3) << "the step's max_attempts = 2 wins over the workflow's 0";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
}

TEST_P(WorkflowRetryTest, RetriesBeyondMaxReadCtStillReachTheirOutcome) {
  // max_read_ct (5 by default) bounds deliveries of a failing queue message; waiting for a
  // step retry is not a failed delivery, so a policy allowing more retries than that must
  // still be honoured rather than dead-lettering the run.
  auto def = Flaky("wf_many_retries", 7, Fixed(8, 1000ms));
  Register(def);
  const auto run_id = Trigger(def);
  for (int i = 0; i < 12 && !pgqrs::is_terminal(Status(run_id)); ++i) {
    Drain(def);
    Advance(1s);
  }
  EXPECT_EQ(calls_.get("flaky"), 8);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_TRUE(admin().dlq(def.name()).empty()) << "the run's message was dead-lettered";
}

TEST_P(WorkflowRetryTest, RetryWaitsSurviveANewStore) {
  if (!GetParam().persistent) {
    GTEST_SKIP() << "an in-memory database does not outlive its store";
  }
  auto def = Flaky("wf_retry_restart", 1, Fixed(3, 3000ms));
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(calls_.get("flaky"), 1);
  // A new process: a fresh store on the same database, a new consumer.
  pgqrs::Store restarted = pgqrs::connect_with_config(config_, clock_);
  Register(restarted, def);
  Advance(2999ms);
  Drain(restarted, def);
  EXPECT_EQ(calls_.get("flaky"), 1);
  Advance(1ms);
  Drain(restarted, def);
  EXPECT_EQ(calls_.get("flaky"), 2);
  EXPECT_EQ(pgqrs::run().id(run_id).store(restarted).get(), std::optional<json>(json{{"v", "ok"}}));
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowRetryTest);

}  // namespace
}  // namespace pgqrs_test
