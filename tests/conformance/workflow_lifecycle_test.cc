// SPEC §5: workflow definitions, triggers, the worker's run state machine, run outcomes
// (result / get / timeout) and run records.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <limits>
#include <set>
#include <stop_token>
#include <thread>

#include "conformance/workflow_test_support.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowLifecycleTest : public WorkflowTest {};

pgqrs::WorkflowDef Noop(const std::string& name) {
  return pgqrs::WorkflowDef(name, [](pgqrs::Run&, const json&) { return json{{"ok", true}}; });
}

bool HasQueue(const pgqrs::Admin& a, const std::string& name, std::size_t* count = nullptr) {
  std::size_t n = 0;
  for (const auto& q : a.list_queues()) n += q.queue_name == name ? 1 : 0;
  if (count != nullptr) *count = n;
  return n > 0;
}

TEST_P(WorkflowLifecycleTest, CreateRegistersWorkflowAndQueueOfTheSameName) {
  auto def = Noop("wf_create");
  pgqrs::WorkflowRecord rec = pgqrs::workflow().name(def).create(store());
  EXPECT_GT(rec.id, 0);
  EXPECT_EQ(rec.name, "wf_create");
  EXPECT_EQ(MillisBetween(rec.created_at, now()), 0);
  pgqrs::QueueInfo q = admin().get_queue("wf_create");
  EXPECT_EQ(rec.queue_id, q.id);
}

TEST_P(WorkflowLifecycleTest, CreateTwiceIsANoOpWithOneQueue) {
  auto def = Noop("wf_twice");
  pgqrs::WorkflowRecord first = pgqrs::workflow().name(def).create(store());
  Advance(5s);
  pgqrs::WorkflowRecord second;
  ASSERT_NO_THROW(second = pgqrs::workflow().name(def).create(store()));
  pgqrs::WorkflowRecord by_name;
  ASSERT_NO_THROW(by_name = pgqrs::workflow().name(std::string("wf_twice")).create(store()));
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(by_name.id, first.id);
  EXPECT_EQ(second.queue_id, first.queue_id);
  EXPECT_EQ(MillisBetween(second.created_at, first.created_at), 0)
      << "a second create must not touch the existing definition";
  std::size_t queues = 0;
  EXPECT_TRUE(HasQueue(admin(), "wf_twice", &queues));
  EXPECT_EQ(queues, 1u);
  EXPECT_EQ(admin().list_queues().size(), 1u);
}

TEST_P(WorkflowLifecycleTest, CreateAdoptsAnExistingQueueOfTheSameName) {
  pgqrs::QueueInfo pre = MakeQueue("wf_pre");
  auto def = Noop("wf_pre");
  pgqrs::WorkflowRecord rec;
  ASSERT_NO_THROW(rec = pgqrs::workflow().name(def).create(store()));
  EXPECT_EQ(rec.queue_id, pre.id);
  EXPECT_EQ(admin().list_queues().size(), 1u);
}

TEST_P(WorkflowLifecycleTest, CreateWithInvalidNameThrowsValidationAndStoresNothing) {
  for (const std::string& bad :
       std::vector<std::string>{"", "has space", "semi;colon", std::string(129, 'a')}) {
    SCOPED_TRACE("name '" + bad + "'");
    EXPECT_THROW(pgqrs::workflow().name(Noop(bad)).create(store()), pgqrs::ValidationError);
  }
  EXPECT_TRUE(admin().list_queues().empty());
}

TEST_P(WorkflowLifecycleTest, TriggerCreatesQueuedRunAndItsMessage) {
  auto def = Noop("wf_trigger");
  pgqrs::WorkflowRecord wf = pgqrs::workflow().name(def).create(store());
  Advance(2s);
  const json input = {{"path", "/tmp/a"}, {"n", 3}};
  pgqrs::QueueMessage msg = pgqrs::workflow().name(def).trigger(input).execute(store());

  EXPECT_GT(msg.id, 0);
  EXPECT_EQ(msg.queue_id, wf.queue_id);
  EXPECT_EQ(msg.payload, input) << "the payload is the input (as in the original pgqrs)";
  EXPECT_EQ(admin().get_message(msg.id).payload, input);
  const auto run_id = RunIdOf(msg);

  pgqrs::RunRecord by_msg = pgqrs::run().message(msg).store(store()).record();
  pgqrs::RunRecord by_id = pgqrs::run().id(run_id).store(store()).record();
  EXPECT_EQ(by_msg.id, run_id);
  EXPECT_EQ(by_id.id, run_id);
  EXPECT_EQ(by_id.workflow_id, wf.id);
  EXPECT_EQ(by_id.workflow_name, "wf_trigger");
  EXPECT_EQ(by_id.status, WorkflowStatus::kQueued);
  EXPECT_EQ(by_id.input, input);
  EXPECT_EQ(by_id.message_id, std::optional<std::int64_t>(msg.id));
  EXPECT_FALSE(by_id.output.has_value());
  EXPECT_FALSE(by_id.error.has_value());
  EXPECT_EQ(MillisBetween(by_id.created_at, now()), 0);

  pgqrs::QueueMetrics m = Metrics(def);
  EXPECT_EQ(m.pending, 1u);
  EXPECT_EQ(m.leased + m.delayed + m.archived, 0u);
}

TEST_P(WorkflowLifecycleTest, TriggerByNameWithoutHandlerWorks) {
  auto def = Noop("wf_by_name");
  pgqrs::workflow().name(std::string("wf_by_name")).create(store());
  pgqrs::QueueMessage msg =
      pgqrs::workflow().name(std::string("wf_by_name")).trigger(json{{"x", 1}}).execute(store());
  const auto run_id = RunIdOf(msg);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kQueued);
  Drain(def);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
}

TEST_P(WorkflowLifecycleTest, TriggerUnknownWorkflowThrowsValidationAndStoresNothing) {
  std::string msg = ExpectThrowMessage<pgqrs::ValidationError>(
      [&] {
        pgqrs::workflow().name(Noop("wf_missing")).trigger(json{{"a", 1}}).execute(store());
      },
      "trigger of an unregistered workflow");
  EXPECT_TRUE(ContainsAny(msg, {"wf_missing"})) << "the error should name the workflow: " << msg;
  EXPECT_FALSE(HasQueue(admin(), "wf_missing")) << "a trigger must not create a queue";
  EXPECT_TRUE(ListRuns(store(), {}).empty());
}

TEST_P(WorkflowLifecycleTest, TriggerOnAPlainQueueWithoutWorkflowIsRejected) {
  MakeQueue("plain");
  EXPECT_THROW(pgqrs::workflow().name(std::string("plain")).trigger(json{}).execute(store()),
               pgqrs::ValidationError);
  EXPECT_TRUE(AllMessages("plain").empty());
  EXPECT_TRUE(ListRuns(store(), {}).empty());
}

TEST_P(WorkflowLifecycleTest, TriggerWithInvalidInputStoresNothing) {
  auto def = Noop("wf_bad_input");
  Register(def);
  // Non-finite numbers: enqueue reports them as ValidationError (SPEC §7); a trigger may
  // report them as ValidationError or SerializationError, but must store nothing.
  try {
    pgqrs::workflow()
        .name(def)
        .trigger(json{{"x", std::numeric_limits<double>::quiet_NaN()}})
        .execute(store());
    ADD_FAILURE() << "a NaN input was accepted";
  } catch (const pgqrs::ValidationError&) {
  } catch (const pgqrs::SerializationError&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << "NaN input: expected ValidationError or SerializationError, got: " << e.what();
  }
  // Strings that are not valid UTF-8.
  try {
    pgqrs::workflow().name(def).trigger(json{{"s", "bad\xff"}}).execute(store());
    ADD_FAILURE() << "an input with invalid UTF-8 was accepted";
  } catch (const pgqrs::ValidationError&) {
  } catch (const pgqrs::SerializationError&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << "invalid UTF-8 input: expected ValidationError or SerializationError, got: "
                  << e.what();
  }
  // Larger than the payload limit (1 MiB by default) once wrapped in the run message.
  json big = json::array();
  for (int i = 0; i < 70000; ++i) big.push_back("0123456789abcdef");  // ~1.3 MB
  ASSERT_GT(big.dump().size(), 1024u * 1024u);
  EXPECT_THROW(pgqrs::workflow().name(def).trigger(json{{"data", big}}).execute(store()),
               pgqrs::ValidationError);
  EXPECT_TRUE(AllMessages(def.name()).empty());
  EXPECT_TRUE(ListRuns(store(), {}).empty());
}

TEST_P(WorkflowLifecycleTest, WorkerRunsHandlerWithInputAndRecordsSuccess) {
  struct Seen {
    std::int64_t id = 0;
    json input;
    WorkflowStatus status = WorkflowStatus::kQueued;
    WorkflowStatus record_status = WorkflowStatus::kQueued;
    pgqrs::TimePoint time;
    std::optional<json> get_inside;
  } seen;
  Counters calls;
  pgqrs::WorkflowDef def("wf_ok", [&](pgqrs::Run& run, const json& in) {
    calls.bump("handler");
    seen.id = run.id();
    seen.input = in;
    seen.status = run.status();
    seen.record_status = run.record().status;
    seen.time = run.current_time();
    seen.get_inside = pgqrs::run().id(run.id()).store(run.store()).get();
    return json{{"sum", in.at("a").get<int>() + in.at("b").get<int>()}};
  });
  Register(def);
  const auto run_id = Trigger(def, json{{"a", 2}, {"b", 40}});
  const pgqrs::TimePoint created = now();
  Advance(5s);
  Drain(def);

  EXPECT_EQ(calls.get("handler"), 1);
  EXPECT_EQ(seen.id, run_id);
  EXPECT_EQ(seen.input, (json{{"a", 2}, {"b", 40}})) << "the handler gets the trigger input";
  EXPECT_EQ(seen.status, WorkflowStatus::kRunning);
  EXPECT_EQ(seen.record_status, WorkflowStatus::kRunning);
  EXPECT_EQ(MillisBetween(seen.time, now()), 0) << "Run::current_time is the injected clock";
  EXPECT_FALSE(seen.get_inside.has_value()) << "get() of a RUNNING run is nullopt";

  pgqrs::RunRecord rec = Record(run_id);
  EXPECT_EQ(rec.status, WorkflowStatus::kSuccess);
  EXPECT_EQ(rec.output, std::optional<json>(json{{"sum", 42}}));
  EXPECT_FALSE(rec.error.has_value());
  EXPECT_EQ(MillisBetween(rec.created_at, created), 0);
  EXPECT_EQ(MillisBetween(rec.updated_at, now()), 0);

  pgqrs::QueueMessage msg = MessageOf(run_id);
  EXPECT_TRUE(msg.archived_at.has_value()) << "a finished run's message is archived";
  pgqrs::QueueMetrics m = Metrics(def);
  EXPECT_EQ(m.archived, 1u);
  EXPECT_EQ(m.pending + m.delayed + m.leased + m.dead, 0u);

  EXPECT_EQ(pgqrs::run().id(run_id).store(store()).get(), std::optional<json>(json{{"sum", 42}}));
  EXPECT_EQ(pgqrs::run().id(run_id).store(store()).result(1s), (json{{"sum", 42}}));
  // Nothing is left to run: a later drain does not call the handler again.
  Advance(1h);
  Drain(def);
  EXPECT_EQ(calls.get("handler"), 1);
}

TEST_P(WorkflowLifecycleTest, HandlerExceptionFailsRunAtOnceAndResultThrowsExecutionFailed) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_throws", [&](pgqrs::Run&, const json&) -> json {
    calls.bump("handler");
    throw std::runtime_error("boom-7431");
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);

  pgqrs::RunRecord rec = Record(run_id);
  EXPECT_EQ(rec.status, WorkflowStatus::kError);
  ASSERT_TRUE(rec.error.has_value());
  EXPECT_NE(rec.error->dump().find("boom-7431"), std::string::npos)
      << "the recorded error carries the exception message: " << rec.error->dump();
  EXPECT_FALSE(rec.output.has_value());

  std::string what = ExpectThrowMessage<pgqrs::ExecutionFailedError>(
      [&] { pgqrs::run().id(run_id).store(store()).result(1s); }, "result() of an ERROR run");
  EXPECT_NE(what.find("boom-7431"), std::string::npos) << what;
  EXPECT_THROW(pgqrs::run().id(run_id).store(store()).get(), pgqrs::ExecutionFailedError);

  // Not retried: the run's message is finished, so no later worker sees it.
  Advance(24h);
  Drain(def);
  EXPECT_EQ(calls.get("handler"), 1);
  pgqrs::QueueMetrics m = Metrics(def);
  EXPECT_EQ(m.pending + m.delayed + m.leased + m.dead, 0u);
}

TEST_P(WorkflowLifecycleTest, HandlerOutputThatIsNotSerialisableEndsTheRunInError) {
  pgqrs::WorkflowDef nan_def("wf_nan_out", [](pgqrs::Run&, const json&) {
    return json{{"x", std::numeric_limits<double>::quiet_NaN()}};
  });
  pgqrs::WorkflowDef utf8_def("wf_utf8_out", [](pgqrs::Run&, const json&) {
    return json{{"s", "bad\xff"}};
  });
  for (const auto* def : {&nan_def, &utf8_def}) {
    SCOPED_TRACE(def->name());
    Register(*def);
    const auto run_id = Trigger(*def);
    Drain(*def);
    EXPECT_EQ(Status(run_id), WorkflowStatus::kError) << Describe(run_id);
    EXPECT_THROW(pgqrs::run().id(run_id).store(store()).result(1s), pgqrs::ExecutionFailedError);
    pgqrs::QueueMetrics m = Metrics(*def);
    EXPECT_EQ(m.pending + m.delayed + m.leased, 0u) << "the run must not be left to redeliver";
  }
}

TEST_P(WorkflowLifecycleTest, GetIsNulloptUntilTheRunFinishes) {
  auto def = Noop("wf_get");
  Register(def);
  const auto run_id = Trigger(def);
  EXPECT_FALSE(pgqrs::run().id(run_id).store(store()).get().has_value()) << "QUEUED";
  Drain(def);
  EXPECT_EQ(pgqrs::run().id(run_id).store(store()).get(), std::optional<json>(json{{"ok", true}}));
}

// result(timeout) waits on the store's clock: it times out when the clock passes the
// timeout, not before, and a run finished through the same store wakes it at once.
TEST_P(WorkflowLifecycleTest, ResultOfAnUnfinishedRunTimesOut) {
  auto def = Noop("wf_timeout");
  Register(def);
  const auto run_id = Trigger(def);
  EXPECT_THROW(pgqrs::run().id(run_id).store(store()).result(0ms), pgqrs::TimeoutError);
  auto fut = std::async(std::launch::async, [&] {
    try {
      pgqrs::run().id(run_id).store(store()).result(150ms);
      return std::string("<returned>");
    } catch (const pgqrs::TimeoutError&) {
      return std::string("timeout");
    } catch (const std::exception& e) {
      return std::string("<other: ") + e.what() + ">";
    }
  });
  const std::string failure = DriveToDeadline(fut, 150ms, 1);
  if (!failure.empty()) Advance(1h);  // ends the wait whatever went wrong
  fut.wait();
  ASSERT_EQ(failure, "") << "result(150ms)";
  EXPECT_EQ(fut.get(), "timeout");
  EXPECT_EQ(Status(run_id), WorkflowStatus::kQueued) << "waiting changes nothing";
}

TEST_P(WorkflowLifecycleTest, ResultWaitsForAWorkerOnAnotherThread) {
  Gate entered;
  pgqrs::WorkflowDef def("wf_wait", [&](pgqrs::Run&, const json& in) {
    entered.open();
    return json{{"echo", in}};
  });
  Register(def);
  pgqrs::QueueMessage msg = pgqrs::workflow().name(def).trigger(json{{"v", 9}}).execute(store());
  auto fut = std::async(std::launch::async,
                        [&] { return pgqrs::run().message(msg).store(store()).result(20s); });
  ASSERT_TRUE(WaitForWaiters(1)) << "result() never started waiting";
  EXPECT_FALSE(WaitReady(fut, 0ms));
  Drain(def);  // the clock does not move: the run finishing must wake result()
  ASSERT_TRUE(WaitReady(fut, 20s)) << "result() did not see the finished run";
  EXPECT_EQ(fut.get(), (json{{"echo", {{"v", 9}}}}));
}

TEST_P(WorkflowLifecycleTest, UnknownRunIdIsAnError) {
  EXPECT_THROW(pgqrs::run().id(987654321).store(store()).record(), pgqrs::Error);
  EXPECT_THROW(pgqrs::run().id(987654321).store(store()).get(), pgqrs::Error);
}

TEST_P(WorkflowLifecycleTest, StepsOfARunAreRecordedInOrderWithOutputs) {
  std::size_t steps_seen_inside = 0;
  pgqrs::WorkflowDef def("wf_steps", [&](pgqrs::Run& run, const json&) {
    auto a = pgqrs::workflow_step(run, "a", [] { return 1; });
    Advance(1s);
    auto b = pgqrs::workflow_step(run, "b", [] { return std::string("two"); });
    steps_seen_inside = run.steps().size();
    Advance(1s);
    pgqrs::workflow_step(run, "c", [] {});
    return json{{"a", a}, {"b", b}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  const pgqrs::TimePoint start = now();
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(steps_seen_inside, 2u) << "Run::steps() inside the handler sees the recorded steps";

  auto steps = Steps(run_id);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].step_name, "a");
  EXPECT_EQ(steps[1].step_name, "b");
  EXPECT_EQ(steps[2].step_name, "c");
  for (const auto& s : steps) {
    EXPECT_EQ(s.run_id, run_id);
    EXPECT_EQ(s.status, WorkflowStatus::kSuccess) << s.step_name;
    EXPECT_FALSE(s.error.has_value()) << s.step_name;
    EXPECT_EQ(s.retry_count, 0) << s.step_name;
  }
  EXPECT_EQ(steps[0].output, std::optional<json>(json(1)));
  EXPECT_EQ(steps[1].output, std::optional<json>(json("two")));
  EXPECT_TRUE(!steps[2].output.has_value() || steps[2].output->is_null())
      << "a void step is stored as null";
  EXPECT_EQ(MillisBetween(steps[0].created_at, start), 0);
  EXPECT_EQ(MillisBetween(steps[1].created_at, start), 1000);
  EXPECT_EQ(MillisBetween(steps[2].updated_at, start), 2000);
  EXPECT_EQ(Record(run_id).output, std::optional<json>(json{{"a", 1}, {"b", "two"}}));
}

TEST_P(WorkflowLifecycleTest, ListRunsFiltersByWorkflowStatusSinceAndLimit) {
  auto ok = Noop("wf_list_ok");
  pgqrs::WorkflowDef bad("wf_list_bad",
                         [](pgqrs::Run&, const json&) -> json { throw std::runtime_error("no"); });
  Register(ok);
  Register(bad);
  const pgqrs::TimePoint t0 = now();
  std::vector<std::int64_t> ok_runs;
  for (int i = 0; i < 3; ++i) {
    ok_runs.push_back(Trigger(ok, json{{"i", i}}));
    Advance(1s);
  }
  const pgqrs::TimePoint t_mid = now();
  std::vector<std::int64_t> bad_runs;
  for (int i = 0; i < 2; ++i) {
    bad_runs.push_back(Trigger(bad, json{{"i", i}}));
    Advance(1s);
  }
  const auto late_ok = Trigger(ok, json{{"i", 3}});
  Drain(bad);
  Drain(ok);

  auto ids = [](const std::vector<pgqrs::RunRecord>& runs) {
    std::vector<std::int64_t> out;
    for (const auto& r : runs) out.push_back(r.id);
    return out;
  };
  pgqrs::RunFilter all;
  EXPECT_EQ(ids(ListRuns(store(), all)),
            (std::vector<std::int64_t>{late_ok, bad_runs[1], bad_runs[0], ok_runs[2], ok_runs[1],
                                       ok_runs[0]}))
      << "newest first";

  pgqrs::RunFilter by_wf;
  by_wf.workflow = "wf_list_ok";
  EXPECT_EQ(ids(ListRuns(store(), by_wf)),
            (std::vector<std::int64_t>{late_ok, ok_runs[2], ok_runs[1], ok_runs[0]}));

  pgqrs::RunFilter by_status;
  by_status.status = WorkflowStatus::kError;
  EXPECT_EQ(ids(ListRuns(store(), by_status)),
            (std::vector<std::int64_t>{bad_runs[1], bad_runs[0]}));
  for (const auto& r : ListRuns(store(), by_status)) {
    EXPECT_EQ(r.workflow_name, "wf_list_bad");
    EXPECT_TRUE(r.error.has_value());
  }

  pgqrs::RunFilter since;
  since.since = t_mid;
  EXPECT_EQ(ids(ListRuns(store(), since)),
            (std::vector<std::int64_t>{late_ok, bad_runs[1], bad_runs[0]}))
      << "since is inclusive (created_at >= since)";

  pgqrs::RunFilter limited;
  limited.limit = 2;
  EXPECT_EQ(ids(ListRuns(store(), limited)), (std::vector<std::int64_t>{late_ok, bad_runs[1]}));

  pgqrs::RunFilter combined;
  combined.workflow = "wf_list_ok";
  combined.status = WorkflowStatus::kSuccess;
  combined.since = t0 + 1s;
  combined.limit = 10;
  EXPECT_EQ(ids(ListRuns(store(), combined)),
            (std::vector<std::int64_t>{late_ok, ok_runs[2], ok_runs[1]}));

  pgqrs::RunFilter nothing;
  nothing.workflow = "no_such_workflow";
  EXPECT_TRUE(ListRuns(store(), nothing).empty());
}

TEST_P(WorkflowLifecycleTest, AdminListsWorkflowsAndReadsOneRunAndItsSteps) {
  pgqrs::WorkflowDef def("wf_admin", [](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "only", [] { return 7; });
    return json{{"ok", 1}};
  });
  Register(def);
  Register(Noop("wf_admin_other"));
  std::set<std::string> names;
  for (const auto& w : admin().list_workflows()) names.insert(w.name);
  EXPECT_EQ(names, (std::set<std::string>{"wf_admin", "wf_admin_other"}));

  const auto run_id = Trigger(def, json{{"in", 1}});
  Drain(def);
  pgqrs::RunRecord rec = admin().get_run(run_id);
  EXPECT_EQ(rec.id, run_id);
  EXPECT_EQ(rec.status, WorkflowStatus::kSuccess);
  EXPECT_EQ(rec.input, (json{{"in", 1}}));
  auto steps = admin().run_steps(run_id);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].step_name, "only");
  EXPECT_EQ(steps[0].output, std::optional<json>(json(7)));
}

TEST_P(WorkflowLifecycleTest, AdminRunRecordCallsRejectBadInput) {
  EXPECT_THROW(admin().get_run(987654321), pgqrs::ValidationError);
  EXPECT_THROW(admin().run_steps(987654321), pgqrs::ValidationError);
  pgqrs::RunFilter zero;
  zero.limit = 0;
  EXPECT_THROW(admin().list_runs(zero), pgqrs::ValidationError);
  pgqrs::RunFilter bad_name;
  bad_name.workflow = "no spaces allowed";
  EXPECT_THROW(admin().list_runs(bad_name), pgqrs::ValidationError);
}

TEST_P(WorkflowLifecycleTest, ConcurrentWorkersExecuteEachRunExactlyOnce) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_concurrent", [&](pgqrs::Run& run, const json& in) {
    const std::string id = std::to_string(run.id());
    int total = 0;
    for (const char* step : {"s1", "s2", "s3"}) {
      total += pgqrs::workflow_step(run, step, [&] {
        calls.bump(id + ":" + step);
        std::this_thread::sleep_for(1ms);
        return in.at("n").get<int>();
      });
    }
    return json{{"total", total}};
  });
  pgqrs::workflow().name(def).create(store());
  constexpr int kRuns = 16;
  std::vector<std::int64_t> runs;
  for (int i = 0; i < kRuns; ++i) runs.push_back(Trigger(def, json{{"n", i}}));

  std::stop_source stop;
  auto worker = [&](const std::string& name) {
    auto c = pgqrs::consumer(name, def.name()).create(store());
    return pgqrs::workflow().name(def).consumer(c).stop_token(stop.get_token()).poll(store());
  };
  auto w1 = std::async(std::launch::async, worker, "wf-a");
  auto w2 = std::async(std::launch::async, worker, "wf-b");
  const bool all_done = EventuallyTrue(
      [&] {
        return std::all_of(runs.begin(), runs.end(),
                           [&](std::int64_t id) { return pgqrs::is_terminal(Status(id)); });
      },
      60s);
  stop.request_stop();
  EXPECT_TRUE(WaitReady(w1, 20s)) << "worker 1 did not stop on its stop token";
  EXPECT_TRUE(WaitReady(w2, 20s)) << "worker 2 did not stop on its stop token";
  w1.wait();
  w2.wait();
  ASSERT_TRUE(all_done) << "not every run finished";
  for (int i = 0; i < kRuns; ++i) {
    const auto id = runs[static_cast<std::size_t>(i)];
    EXPECT_EQ(Record(id).output, std::optional<json>(json{{"total", 3 * i}})) << Describe(id);
    for (const char* step : {"s1", "s2", "s3"}) {
      EXPECT_EQ(calls.get(std::to_string(id) + ":" + step), 1)
          << "run " << id << " step " << step << " body ran more than once";
    }
  }
}

TEST_P(WorkflowLifecycleTest, AWorkerThatLostItsLeaseDoesNotStartAnotherStep) {
  // Only the worker holding the run's message lease executes the run (SPEC §5). Worker A
  // stalls inside step "one" past its lease (the clock jumps past the lease in one move, so
  // A's lease keeper finds the lease already lapsed and cannot renew it); worker B takes the
  // run over and is inside step "two" when A wakes up. A no longer holds the lease, so it
  // must not execute step "two" (or anything else) of the run.
  Counters calls;
  Gate a_in_one, a_release, b_in_two, b_release;
  pgqrs::WorkflowDef def("wf_lease_lost", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "one", [&] {
      if (calls.bump("one") == 1) {
        a_in_one.open();
        EXPECT_TRUE(a_release.wait());
      }
      return calls.get("one");
    });
    pgqrs::workflow_step(run, "two", [&] {
      if (calls.bump("two") == 1) {
        b_in_two.open();
        EXPECT_TRUE(b_release.wait());
      }
      return 2;
    });
    return json{};
  });
  pgqrs::workflow().name(def).create(store());
  auto ca = pgqrs::consumer("worker-a", def.name()).create(store());
  auto cb = pgqrs::consumer("worker-b", def.name()).create(store());
  const auto run_id = Trigger(def);
  auto serve = [&](const pgqrs::Consumer& c) {
    return pgqrs::workflow().name(def).consumer(c).until_empty().poll(store());
  };
  auto a = std::async(std::launch::async, serve, ca);
  ASSERT_TRUE(a_in_one.wait());
  Advance(std::chrono::seconds(config_.default_lock_time_seconds) + 1s);
  auto b = std::async(std::launch::async, serve, cb);
  const bool b_took_over = b_in_two.wait();
  a_release.open();
  if (b_took_over) {
    // Give A time to reach step "two" (it must not run its body).
    EXPECT_EQ(a.wait_for(2s), std::future_status::ready)
        << "worker A did not return after losing its lease";
    EXPECT_EQ(calls.get("two"), 1) << "worker A executed step 'two' without holding the lease";
  } else {
    ADD_FAILURE() << "worker B never took over the run after A's lease expired";
  }
  b_release.open();
  ASSERT_TRUE(WaitReady(a, 20s));
  ASSERT_TRUE(WaitReady(b, 20s));
  a.get();
  b.get();
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls.get("two"), 1);
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowLifecycleTest);

}  // namespace
}  // namespace pgqrs_test
