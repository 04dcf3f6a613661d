// SPEC §5 steps: a succeeded step is replayed from storage and never re-run; step failures;
// bad step names and outputs that cannot be stored.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "conformance/workflow_test_support.h"

namespace pgqrs_test {

// A user type stored as a step output through nlohmann's ADL hooks.
struct Parcel {
  std::string label;
  std::vector<int> sizes;
};
inline void to_json(pgqrs::json& j, const Parcel& p) {
  j = pgqrs::json{{"label", p.label}, {"sizes", p.sizes}};
}
inline void from_json(const pgqrs::json& j, Parcel& p) {
  j.at("label").get_to(p.label);
  j.at("sizes").get_to(p.sizes);
}

namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowStepsTest : public WorkflowTest {};

TEST_P(WorkflowStepsTest, SucceededStepIsReplayedNotRerunWhenTheRunExecutesAgain) {
  Counters calls;
  pgqrs::WorkflowDef def(
      "wf_replay",
      [&](pgqrs::Run& run, const json&) {
        auto first = pgqrs::workflow_step(run, "one", [&] {
          calls.bump("one");
          return 100 + calls.get("one");  // differs per execution, so replay is visible
        });
        auto second = pgqrs::workflow_step(run, "two", [&] {
          if (calls.bump("two") == 1) throw pgqrs::TransientStepError("flaky");
          return first * 2;
        });
        return json{{"first", first}, {"second", second}};
      },
      Fixed(3, 1000ms));
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(calls.get("one"), 1);
  EXPECT_EQ(calls.get("two"), 1);
  EXPECT_FALSE(pgqrs::is_terminal(Status(run_id))) << Describe(run_id);
  auto one = Step(run_id, "one");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->status, WorkflowStatus::kSuccess);
  EXPECT_EQ(one->output, std::optional<json>(json(101)));

  Advance(1s);
  Drain(def);
  EXPECT_EQ(calls.get("one"), 1) << "a succeeded step must never run again";
  EXPECT_EQ(calls.get("two"), 2);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, std::optional<json>(json{{"first", 101}, {"second", 202}}))
      << "the replayed step returns its stored output";
}

TEST_P(WorkflowStepsTest, ReplayedStepsConvertStoredOutputsBackToTheirTypes) {
  Counters calls;
  struct Got {
    Parcel parcel;
    std::vector<std::string> names;
    bool flag = false;
  };
  std::vector<Got> got;
  pgqrs::WorkflowDef def(
      "wf_types",
      [&](pgqrs::Run& run, const json&) {
        Got g;
        g.parcel = pgqrs::workflow_step(run, "parcel", [&] {
          calls.bump("parcel");
          return Parcel{"box", {1, 2, 3}};
        });
        g.names = pgqrs::workflow_step(run, "names", [&] {
          calls.bump("names");
          return std::vector<std::string>{"a", "b"};
        });
        pgqrs::workflow_step(run, "void", [&] { calls.bump("void"); });
        g.flag = pgqrs::workflow_step(run, "flag", [&] {
          calls.bump("flag");
          return true;
        });
        got.push_back(g);
        pgqrs::workflow_step(run, "gate", [&] {
          if (calls.bump("gate") == 1) throw pgqrs::TransientStepError("again", 0ms);
        });
        return json{{"parcel", g.parcel}};
      },
      Fixed(3, 1000ms));
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);  // fails at "gate"; the retry is due at once (retry_after 0), so it runs again
  if (Status(run_id) != WorkflowStatus::kSuccess) {
    Advance(1s);
    Drain(def);
  }
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  ASSERT_EQ(got.size(), 2u) << "the handler runs twice (the second time replaying)";
  for (const char* step : {"parcel", "names", "void", "flag"}) {
    EXPECT_EQ(calls.get(step), 1) << step;
  }
  EXPECT_EQ(got[1].parcel.label, "box");
  EXPECT_EQ(got[1].parcel.sizes, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(got[1].names, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(got[1].flag);
  EXPECT_EQ(Step(run_id, "parcel")->output,
            std::optional<json>(json{{"label", "box"}, {"sizes", {1, 2, 3}}}));
}

TEST_P(WorkflowStepsTest, LowLevelStepProtocolSkipsARecordedStep) {
  std::vector<pgqrs::StepResult::Status> acquired;
  std::vector<json> values;
  Counters calls;
  pgqrs::WorkflowDef def("wf_protocol", [&](pgqrs::Run& run, const json&) -> json {
    auto r = run.acquire_step("manual");
    acquired.push_back(r.status);
    values.push_back(r.value);
    if (r.status == pgqrs::StepResult::Status::kExecute) {
      run.complete_step("manual", json{{"v", 5}});
    }
    if (calls.bump("handler") == 1) pgqrs::sleep(run, "nap", 10ms);
    return json{{"done", true}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  Advance(10ms);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  ASSERT_EQ(acquired.size(), 2u);
  EXPECT_EQ(acquired[0], pgqrs::StepResult::Status::kExecute);
  EXPECT_EQ(acquired[1], pgqrs::StepResult::Status::kSkipped);
  EXPECT_EQ(values[1], (json{{"v", 5}}));
}

TEST_P(WorkflowStepsTest, DuplicateStepNameInOneExecutionThrowsValidation) {
  Counters calls;
  std::string caught;
  pgqrs::WorkflowDef def("wf_dup", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "same", [&] { return calls.bump("first"); });
    try {
      pgqrs::workflow_step(run, "same", [&] { return calls.bump("second"); });
    } catch (const pgqrs::ValidationError& e) {
      caught = e.what();
    }
    return json{{"ok", true}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_TRUE(ContainsAny(caught, {"same"}))
      << "ValidationError naming the step; got: '" << caught << "'";
  EXPECT_EQ(calls.get("first"), 1);
  EXPECT_EQ(calls.get("second"), 0) << "the duplicate's body must not run";
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  auto step = Step(run_id, "same");
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, WorkflowStatus::kSuccess)
      << "the duplicate call must not disturb the recorded step";
  EXPECT_EQ(step->output, std::optional<json>(json(1)));
  EXPECT_EQ(Steps(run_id).size(), 1u);
}

TEST_P(WorkflowStepsTest, UncaughtDuplicateStepNameFailsTheRun) {
  pgqrs::WorkflowDef def("wf_dup_fail", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "x", [] { return 1; });
    pgqrs::workflow_step(run, "x", [] { return 2; });
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
  EXPECT_THROW(pgqrs::run().id(run_id).store(store()).result(1s), pgqrs::ExecutionFailedError);
}

TEST_P(WorkflowStepsTest, InvalidStepNamesThrowValidation) {
  std::vector<std::string> rejected;
  Counters calls;
  pgqrs::WorkflowDef def("wf_names", [&](pgqrs::Run& run, const json&) {
    for (const std::string& bad : std::vector<std::string>{"", std::string(129, 's')}) {
      try {
        pgqrs::workflow_step(run, bad, [&] { return calls.bump("body"); });
      } catch (const pgqrs::ValidationError&) {
        rejected.push_back(bad);
      }
    }
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(rejected.size(), 2u) << "an empty and a 129-char step name are ValidationErrors";
  EXPECT_EQ(calls.get("body"), 0);
  EXPECT_TRUE(Steps(run_id).empty());
}

TEST_P(WorkflowStepsTest, NonTransientStepFailureFailsTheRunAtOnceAndRecordsTheError) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_step_fail", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "ok", [&] { return calls.bump("ok"); });
    pgqrs::workflow_step(run, "bad", [&]() -> int {
      calls.bump("bad");
      throw std::runtime_error("disk on fire 5521");
    });
    pgqrs::workflow_step(run, "after", [&] { return calls.bump("after"); });
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(calls.get("bad"), 1);
  EXPECT_EQ(calls.get("after"), 0) << "no step after a permanent failure runs";
  pgqrs::RunRecord rec = Record(run_id);
  EXPECT_EQ(rec.status, WorkflowStatus::kError);
  ASSERT_TRUE(rec.error.has_value());
  EXPECT_NE(rec.error->dump().find("disk on fire 5521"), std::string::npos) << rec.error->dump();

  auto bad = Step(run_id, "bad");
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, WorkflowStatus::kError);
  ASSERT_TRUE(bad->error.has_value());
  EXPECT_NE(bad->error->dump().find("disk on fire 5521"), std::string::npos) << bad->error->dump();
  EXPECT_EQ(bad->retry_count, 0) << "a non-transient failure is not retried";
  EXPECT_FALSE(Step(run_id, "after").has_value());
  EXPECT_EQ(Step(run_id, "ok")->status, WorkflowStatus::kSuccess);

  std::string what = ExpectThrowMessage<pgqrs::ExecutionFailedError>(
      [&] { pgqrs::run().id(run_id).store(store()).result(1s); }, "result() of the failed run");
  EXPECT_NE(what.find("disk on fire 5521"), std::string::npos) << what;
  Advance(24h);
  Drain(def);
  EXPECT_EQ(calls.get("bad"), 1) << "a failed run is never executed again";
}

TEST_P(WorkflowStepsTest, PgqrsErrorFromAStepBodyIsAPermanentFailure) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_step_pgqrs_err", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "lookup", [&]() -> int {
      calls.bump("lookup");
      throw pgqrs::QueueNotFoundError("queue 'nowhere' does not exist");
    });
    return json{};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  Advance(1h);
  Drain(def);
  EXPECT_EQ(calls.get("lookup"), 1);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
  EXPECT_EQ(Step(run_id, "lookup")->status, WorkflowStatus::kError);
}

// Output that JSON cannot carry: a NaN number, or a string that is not valid UTF-8.
class NotSerialisableOutput : public WorkflowStepsTest {
 protected:
  void Check(const std::string& wf, const json& bad_output) {
    std::string caught;
    Counters calls;
    pgqrs::WorkflowDef def(wf, [&](pgqrs::Run& run, const json&) {
      try {
        pgqrs::workflow_step(run, "produce", [&] {
          calls.bump("produce");
          return bad_output;
        });
      } catch (const pgqrs::SerializationError& e) {
        caught = e.what();
        throw;
      } catch (const std::exception& e) {
        caught = std::string("<not a SerializationError: ") + e.what() + ">";
        throw;
      }
      calls.bump("after");
      return json{};
    });
    Register(def);
    const auto run_id = Trigger(def);
    Drain(def);
    EXPECT_FALSE(caught.empty()) << "the step must not accept the output";
    EXPECT_EQ(caught.find("<not a"), std::string::npos) << caught;
    EXPECT_EQ(calls.get("after"), 0);
    auto step = Step(run_id, "produce");
    if (step.has_value()) {
      EXPECT_NE(step->status, WorkflowStatus::kSuccess)
          << "recorded as SUCCESS: "
          << (step->output ? step->output->dump(-1, ' ', false, json::error_handler_t::replace)
                           : "(no output)");
    }
    EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
    Advance(1h);
    Drain(def);
    EXPECT_EQ(calls.get("produce"), 1) << "a failed run is not executed again";
  }
};

TEST_P(NotSerialisableOutput, NaNStepOutputThrowsSerializationAndIsNotRecorded) {
  Check("wf_nan_step", json{{"x", std::numeric_limits<double>::quiet_NaN()}});
}

TEST_P(NotSerialisableOutput, InfiniteStepOutputThrowsSerializationAndIsNotRecorded) {
  Check("wf_inf_step", json::array({1.0, std::numeric_limits<double>::infinity()}));
}

TEST_P(NotSerialisableOutput, InvalidUtf8StepOutputThrowsSerializationAndIsNotRecorded) {
  Check("wf_utf8_step", json{{"name", std::string("caf\xff")}});
}

TEST_P(WorkflowStepsTest, AStepInterruptedBeforeItsSuccessWasRecordedRunsAgain) {
  // The at-least-once side of the guarantee, in process: the first execution acquires the
  // step but never records it (as if the worker died inside the body); the run is then
  // executed again and the step runs a second time.
  Counters calls;
  pgqrs::WorkflowDef def("wf_interrupted", [&](pgqrs::Run& run, const json&) -> json {
    if (calls.bump("handler") == 1) {
      auto r = run.acquire_step("work");
      EXPECT_EQ(r.status, pgqrs::StepResult::Status::kExecute);
      calls.bump("work");
      // "Crash": leave the step RUNNING and unwind with a transient wait elsewhere.
      pgqrs::sleep(run, "crash-point", 1s);
    }
    auto v = pgqrs::workflow_step(run, "work", [&] { return calls.bump("work"); });
    return json{{"work", v}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  auto work = Step(run_id, "work");
  ASSERT_TRUE(work.has_value());
  EXPECT_EQ(work->status, WorkflowStatus::kRunning);
  Advance(1s);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls.get("work"), 2);
  EXPECT_EQ(Record(run_id).output, std::optional<json>(json{{"work", 2}}));
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowStepsTest);
PGQRS_INSTANTIATE_CONFORMANCE(NotSerialisableOutput);

}  // namespace
}  // namespace pgqrs_test
