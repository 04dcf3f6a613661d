// SQLite-family backend unit tests: workflow definitions, runs (trigger, the status
// compare-and-sets, cancellation's effect on the run message, listing) and steps, through
// backend::Backend on a file database and on ":memory:". Time is injected, never slept.
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/run_transitions.h"
#include "sqlite_family_test_support.h"

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers
using pgqrs::json;
using pgqrs::RunRecord;
using pgqrs::StepRecord;
using pgqrs::WorkflowStatus;
using pgqrs::backend::RunFilter;
using pgqrs::backend::TriggeredRun;
using StepUpdate = pgqrs::backend::Backend::StepUpdate;

class SqliteWorkflowsTest : public SqliteBackendTest {
 protected:
  TriggeredRun trigger(const std::string& workflow, const json& input = json::object(),
                       TimePoint now = kT0) {
    return be().trigger_run(workflow, input.dump(), now);
  }

  // A run of a fresh workflow `wf` moved to `status` through the backend's own transitions.
  std::int64_t run_in(WorkflowStatus status, const std::string& wf = "wf") {
    be().create_workflow(wf, kT0);
    const std::int64_t id = trigger(wf).run.id;
    switch (status) {
      case WorkflowStatus::kQueued:
        break;
      case WorkflowStatus::kRunning:
        be().start_run(id, kT0);
        break;
      case WorkflowStatus::kPaused:
        be().start_run(id, kT0);
        EXPECT_TRUE(be().pause_run(id, std::nullopt, kT0));
        break;
      case WorkflowStatus::kCancelling:
        EXPECT_EQ(be().cancel_run(id, kT0), true);
        break;
      case WorkflowStatus::kCancelled:
      case WorkflowStatus::kSuccess:
      case WorkflowStatus::kError:
        be().start_run(id, kT0);
        EXPECT_TRUE(be().finish_run(id, status, std::nullopt, std::nullopt, kT0));
        break;
    }
    EXPECT_EQ(run(id).status, status);
    return id;
  }

  RunRecord run(std::int64_t id) {
    auto r = be().get_run(id);
    if (!r) throw std::runtime_error("no run " + std::to_string(id));
    return *r;
  }

  QueueMessage message(std::int64_t id) {
    auto m = be().get_message(id);
    if (!m) throw std::runtime_error("no message " + std::to_string(id));
    return *m;
  }

  std::vector<std::int64_t> run_ids(const RunFilter& filter) {
    std::vector<std::int64_t> ids;
    for (const auto& r : be().list_runs(filter)) ids.push_back(r.id);
    return ids;
  }
};
PGQRS_SQLITE_STORAGE_TESTS(SqliteWorkflowsTest);

// ---- workflows ----------------------------------------------------------------------------

TEST_P(SqliteWorkflowsTest, CreateWorkflowIsIdempotentAndCreatesItsQueueOnce) {
  const auto first = be().create_workflow("wf", kT0);
  EXPECT_GT(first.id, 0);
  EXPECT_EQ(first.name, "wf");
  EXPECT_EQ(first.created_at, kT0);
  const auto second = be().create_workflow("wf", kT0 + 1h);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.queue_id, first.queue_id);
  EXPECT_EQ(second.created_at, kT0);

  const auto queues = be().list_queues();
  ASSERT_EQ(queues.size(), 1U);
  EXPECT_EQ(queues[0].queue_name, "wf");
  EXPECT_EQ(queues[0].id, first.queue_id);

  const auto found = be().find_workflow("wf");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, first.id);
  EXPECT_EQ(found->queue_id, first.queue_id);
  EXPECT_EQ(found->created_at, kT0);
  EXPECT_FALSE(be().find_workflow("other"));
}

TEST_P(SqliteWorkflowsTest, CreateWorkflowAdoptsAnExistingQueueOfTheSameName) {
  const auto queue_id = make_queue("wf");
  EXPECT_EQ(be().create_workflow("wf", kT0).queue_id, queue_id);
  EXPECT_EQ(be().list_queues().size(), 1U);
}

TEST_P(SqliteWorkflowsTest, ListWorkflowsByName) {
  be().create_workflow("b", kT0);
  be().create_workflow("a", kT0);
  const auto all = be().list_workflows();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[1].name, "b");
}

TEST_P(SqliteWorkflowsTest, QueueOfAWorkflowCannotBeDeleted) {
  be().create_workflow("wf", kT0);
  EXPECT_THROW(be().delete_queue("wf"), pgqrs::ConflictError);
}

// ---- trigger ------------------------------------------------------------------------------

TEST_P(SqliteWorkflowsTest, TriggerCreatesTheRunAndItsMessage) {
  const auto wf = be().create_workflow("wf", kT0);
  const json input = {{"path", "/tmp/a"}, {"n", 3}};
  const auto t = trigger("wf", input, kT0 + 1s);

  EXPECT_GT(t.run.id, 0);
  EXPECT_EQ(t.run.workflow_id, wf.id);
  EXPECT_EQ(t.run.workflow_name, "wf");
  EXPECT_EQ(t.run.status, WorkflowStatus::kQueued);
  EXPECT_EQ(t.run.input, input);
  EXPECT_FALSE(t.run.output);
  EXPECT_FALSE(t.run.error);
  EXPECT_EQ(t.run.created_at, kT0 + 1s);
  EXPECT_EQ(t.run.updated_at, kT0 + 1s);
  EXPECT_EQ(t.run.message_id, t.message.id);

  EXPECT_EQ(t.message.queue_id, wf.queue_id);
  EXPECT_EQ(t.message.payload, input) << "the payload is the input (as in the original pgqrs)";
  EXPECT_EQ(t.message.vt, kT0 + 1s);
  EXPECT_EQ(t.message.enqueued_at, kT0 + 1s);
  EXPECT_EQ(t.message.read_ct, 0);
  EXPECT_FALSE(t.message.consumer_worker_id);
  EXPECT_FALSE(t.message.producer_worker_id);

  // What was returned is what a later read returns.
  const auto stored_run = run(t.run.id);
  EXPECT_EQ(stored_run.workflow_name, "wf");
  EXPECT_EQ(stored_run.message_id, t.message.id);
  EXPECT_EQ(stored_run.input, input);
  EXPECT_EQ(stored_run.created_at, t.run.created_at);
  const auto stored_message = message(t.message.id);
  EXPECT_EQ(stored_message.payload, t.message.payload);
  EXPECT_EQ(stored_message.vt, t.message.vt);

  const auto by_message = be().find_run_by_message(t.message.id);
  ASSERT_TRUE(by_message);
  EXPECT_EQ(by_message->id, t.run.id);
  EXPECT_FALSE(be().find_run_by_message(t.message.id + 1000));
  EXPECT_FALSE(be().get_run(t.run.id + 1000));
}

TEST_P(SqliteWorkflowsTest, TriggerKeepsNonObjectInputs) {
  be().create_workflow("wf", kT0);
  for (const json& input : {json(nullptr), json(42), json("text"), json::array({1, 2})}) {
    const auto t = trigger("wf", input);
    EXPECT_EQ(run(t.run.id).input, input);
    EXPECT_EQ(t.message.payload, input);
  }
}

TEST_P(SqliteWorkflowsTest, TriggerOfAnUnknownWorkflowIsValidationErrorAndCreatesNothing) {
  make_queue("ghost");  // a queue alone is not a workflow
  try {
    trigger("ghost");
    FAIL() << "expected ValidationError";
  } catch (const pgqrs::ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("workflow 'ghost' is not registered"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(be().list_messages("ghost", 10, true).empty());
  EXPECT_TRUE(be().list_runs(RunFilter{}).empty());
}

// A failure after the run row was inserted rolls the run back too (one transaction).
TEST(SqliteWorkflowsAtomicity, TriggerThatFailsToEnqueueLeavesNoRun) {
  ScratchDir dir;
  const std::string path = (dir.path() / "wf.db").string();
  auto backend = open_backend(path);
  backend->install();
  backend->create_workflow("wf", kT0);
  raw_connection(path)->exec(
      "CREATE TRIGGER pgqrs_test_refuse BEFORE INSERT ON pgqrs_messages "
      "BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
  EXPECT_THROW(backend->trigger_run("wf", "{}", kT0), pgqrs::Error);
  EXPECT_TRUE(backend->list_runs(RunFilter{}).empty());
  EXPECT_TRUE(backend->list_messages("wf", 10, true).empty());
}

// ---- run transitions ----------------------------------------------------------------------

TEST_P(SqliteWorkflowsTest, StartRunMovesQueuedPausedAndRunningToRunning) {
  for (const auto from :
       {WorkflowStatus::kQueued, WorkflowStatus::kPaused, WorkflowStatus::kRunning}) {
    const auto id = run_in(from);
    const auto start = be().start_run(id, kT0 + 1s);
    EXPECT_TRUE(start.started) << to_string(from);
    EXPECT_EQ(start.run.id, id);
    EXPECT_EQ(start.run.status, WorkflowStatus::kRunning);
    EXPECT_EQ(start.run.updated_at, kT0 + 1s);
    EXPECT_EQ(run(id).status, WorkflowStatus::kRunning);
  }
}

TEST_P(SqliteWorkflowsTest, StartOfACancellingRunCancelsIt) {
  const auto id = run_in(WorkflowStatus::kCancelling);
  const auto start = be().start_run(id, kT0 + 1s);
  EXPECT_FALSE(start.started);
  EXPECT_EQ(start.run.status, WorkflowStatus::kCancelled);
  EXPECT_EQ(run(id).status, WorkflowStatus::kCancelled);
}

TEST_P(SqliteWorkflowsTest, StartOfAFinishedRunChangesNothing) {
  for (const auto done :
       {WorkflowStatus::kSuccess, WorkflowStatus::kError, WorkflowStatus::kCancelled}) {
    const auto id = run_in(done);
    const auto start = be().start_run(id, kT0 + 1h);
    EXPECT_FALSE(start.started);
    EXPECT_EQ(start.run.status, done);
    EXPECT_EQ(start.run.updated_at, kT0);
    EXPECT_EQ(run(id).updated_at, kT0);
  }
}

TEST_P(SqliteWorkflowsTest, StartOfAnUnknownRunIsNotStarted) {
  const auto start = be().start_run(12345, kT0);
  EXPECT_FALSE(start.started);
  EXPECT_EQ(start.run.id, 0);
}

TEST_P(SqliteWorkflowsTest, FinishRunRecordsOutputOrErrorFromRunningOrCancelling) {
  const auto ok = run_in(WorkflowStatus::kRunning);
  EXPECT_TRUE(be().finish_run(ok, WorkflowStatus::kSuccess, R"({"archive":"a.zip"})", std::nullopt,
                              kT0 + 2s));
  auto r = run(ok);
  EXPECT_EQ(r.status, WorkflowStatus::kSuccess);
  EXPECT_EQ(r.output, json({{"archive", "a.zip"}}));
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.updated_at, kT0 + 2s);

  const auto bad = run_in(WorkflowStatus::kRunning);
  EXPECT_TRUE(
      be().finish_run(bad, WorkflowStatus::kError, std::nullopt, R"({"message":"boom"})", kT0));
  r = run(bad);
  EXPECT_EQ(r.status, WorkflowStatus::kError);
  EXPECT_FALSE(r.output);
  EXPECT_EQ(r.error, json({{"message", "boom"}}));

  const auto cancelling = run_in(WorkflowStatus::kCancelling);
  EXPECT_TRUE(
      be().finish_run(cancelling, WorkflowStatus::kCancelled, std::nullopt, std::nullopt, kT0));
  EXPECT_EQ(run(cancelling).status, WorkflowStatus::kCancelled);
}

TEST_P(SqliteWorkflowsTest, FinishRunIsRefusedFromOtherStates) {
  for (const auto from :
       {WorkflowStatus::kQueued, WorkflowStatus::kPaused, WorkflowStatus::kSuccess,
        WorkflowStatus::kError, WorkflowStatus::kCancelled}) {
    const auto id = run_in(from);
    const auto before = run(id);
    EXPECT_FALSE(be().finish_run(id, WorkflowStatus::kSuccess, "1", std::nullopt, kT0 + 1h))
        << to_string(from);
    const auto after = run(id);
    EXPECT_EQ(after.status, from);
    EXPECT_EQ(after.output, before.output);
    EXPECT_EQ(after.updated_at, before.updated_at);
  }
  EXPECT_FALSE(be().finish_run(12345, WorkflowStatus::kSuccess, "1", std::nullopt, kT0));
}

// The guard is the engine's (core/run_transitions.h), stated once for every backend.
TEST_P(SqliteWorkflowsTest, FinishRunWithAStatusThatIsNotFinalIsAnInternalError) {
  const auto id = run_in(WorkflowStatus::kRunning);
  EXPECT_THROW(
      pgqrs::core::finish_run(be(), id, WorkflowStatus::kPaused, std::nullopt, std::nullopt, kT0),
      pgqrs::InternalError);
  EXPECT_EQ(run(id).status, WorkflowStatus::kRunning);
}

TEST_P(SqliteWorkflowsTest, PauseRunFromQueuedRunningOrPausedStoresTheError) {
  const auto running = run_in(WorkflowStatus::kRunning);
  EXPECT_TRUE(be().pause_run(running, std::nullopt, kT0 + 1s));
  EXPECT_EQ(run(running).status, WorkflowStatus::kPaused);
  EXPECT_EQ(run(running).updated_at, kT0 + 1s);
  EXPECT_FALSE(run(running).error);
  const std::string why = R"({"message":"wait","resume_after":5})";
  EXPECT_TRUE(be().pause_run(running, why, kT0 + 2s));  // already paused: records the error
  EXPECT_EQ(run(running).error, json::parse(why));

  const auto queued = run_in(WorkflowStatus::kQueued);
  EXPECT_TRUE(be().pause_run(queued, std::nullopt, kT0 + 1s));
  EXPECT_EQ(run(queued).status, WorkflowStatus::kPaused);
  for (const auto from : {WorkflowStatus::kCancelling, WorkflowStatus::kSuccess}) {
    const auto id = run_in(from);
    EXPECT_FALSE(be().pause_run(id, why, kT0 + 1s)) << to_string(from);
    EXPECT_EQ(run(id).status, from);
  }
  EXPECT_FALSE(be().pause_run(12345, std::nullopt, kT0));
}

// ---- cancellation -------------------------------------------------------------------------

TEST_P(SqliteWorkflowsTest, CancelMovesLiveRunsToCancelling) {
  for (const auto from :
       {WorkflowStatus::kQueued, WorkflowStatus::kRunning, WorkflowStatus::kPaused}) {
    const auto id = run_in(from);
    EXPECT_EQ(be().cancel_run(id, kT0 + 1s), true) << to_string(from);
    EXPECT_EQ(run(id).status, WorkflowStatus::kCancelling);
    EXPECT_EQ(run(id).updated_at, kT0 + 1s);
    EXPECT_EQ(be().cancel_run(id, kT0 + 2s), false);  // already cancelling
    EXPECT_EQ(run(id).updated_at, kT0 + 1s);
  }
}

TEST_P(SqliteWorkflowsTest, CancelOfAFinishedRunReturnsFalseAndChangesNothing) {
  for (const auto done :
       {WorkflowStatus::kSuccess, WorkflowStatus::kError, WorkflowStatus::kCancelled}) {
    const auto id = run_in(done);
    const auto message_id = *run(id).message_id;
    const auto vt = message(message_id).vt;
    EXPECT_EQ(be().cancel_run(id, kT0 + 1h), false);
    EXPECT_EQ(run(id).status, done);
    EXPECT_EQ(run(id).updated_at, kT0);
    EXPECT_EQ(message(message_id).vt, vt);
  }
}

TEST_P(SqliteWorkflowsTest, CancelOfAnUnknownRunIsNullopt) {
  EXPECT_EQ(be().cancel_run(12345, kT0), std::nullopt);
}

TEST_P(SqliteWorkflowsTest, CancelMakesAnInvisibleReleasedMessageVisibleNow) {
  be().create_workflow("wf", kT0);
  const auto t = trigger("wf");
  const auto c = make_worker("c", "wf");
  ASSERT_EQ(dequeue("wf", 1, c).size(), 1U);
  be().start_run(t.run.id, kT0);
  ASSERT_TRUE(be().pause_run(t.run.id, std::nullopt, kT0));
  // The worker gives the message back until the pause ends, an hour from now.
  ASSERT_EQ(be().release({t.message.id}, c, kT0 + 1h, kT0, 5), std::vector<bool>{true});

  EXPECT_EQ(be().cancel_run(t.run.id, kT0 + 1min), true);
  const auto m = message(t.message.id);
  EXPECT_EQ(m.vt, kT0 + 1min);
  EXPECT_FALSE(m.consumer_worker_id);
  const auto again = dequeue("wf", 1, c, kT0 + 1min);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].id, t.message.id);
}

TEST_P(SqliteWorkflowsTest, CancelLeavesALeasedMessageToItsHolder) {
  be().create_workflow("wf", kT0);
  const auto t = trigger("wf");
  const auto c = make_worker("c", "wf");
  ASSERT_EQ(dequeue("wf", 1, c, kT0, 30s).size(), 1U);
  be().start_run(t.run.id, kT0);

  EXPECT_EQ(be().cancel_run(t.run.id, kT0 + 1s), true);
  const auto m = message(t.message.id);
  EXPECT_EQ(m.vt, kT0 + 30s);
  EXPECT_EQ(m.consumer_worker_id, c);
  EXPECT_EQ(be().archive({t.message.id}, c, kT0 + 2s), std::vector<bool>{true});
}

TEST_P(SqliteWorkflowsTest, CancelKeepsAnAlreadyVisibleMessageInLine) {
  be().create_workflow("wf", kT0);
  const auto t = trigger("wf");
  EXPECT_EQ(be().cancel_run(t.run.id, kT0 + 5s), true);
  EXPECT_EQ(message(t.message.id).vt, kT0);
}

TEST_P(SqliteWorkflowsTest, CancelLeavesArchivedMessagesAlone) {
  be().create_workflow("wf", kT0);
  const auto t = trigger("wf");
  const auto c = make_worker("c", "wf");
  ASSERT_EQ(dequeue("wf", 1, c, kT0, 30s).size(), 1U);
  ASSERT_EQ(be().archive({t.message.id}, c, kT0), std::vector<bool>{true});
  EXPECT_EQ(be().cancel_run(t.run.id, kT0 + 1h), true);  // the run itself was still QUEUED
  const auto m = message(t.message.id);
  EXPECT_EQ(m.vt, kT0 + 30s);
  EXPECT_TRUE(m.archived_at);
}

// ---- listing runs -------------------------------------------------------------------------

TEST_P(SqliteWorkflowsTest, ListRunsNewestFirstWithFilters) {
  be().create_workflow("a", kT0);
  be().create_workflow("b", kT0);
  const auto a1 = trigger("a", json::object(), kT0).run.id;
  const auto b1 = trigger("b", json::object(), kT0 + 1s).run.id;
  const auto a2 = trigger("a", json::object(), kT0 + 2s).run.id;
  const auto a3 = trigger("a", json::object(), kT0 + 2s).run.id;  // same time: id breaks tie
  const auto a0 = trigger("a", json::object(), kT0 - 1s).run.id;  // created late, but older
  be().start_run(a1, kT0 + 3s);

  using V = std::vector<std::int64_t>;
  RunFilter all;
  EXPECT_EQ(run_ids(all), (V{a3, a2, b1, a1, a0}));
  const auto records = be().list_runs(all);
  EXPECT_EQ(records[2].workflow_name, "b");
  EXPECT_EQ(records[3].status, WorkflowStatus::kRunning);

  RunFilter of_a;
  of_a.workflow = "a";
  EXPECT_EQ(run_ids(of_a), (V{a3, a2, a1, a0}));

  RunFilter running;
  running.status = WorkflowStatus::kRunning;
  EXPECT_EQ(run_ids(running), (V{a1}));
  running.workflow = "b";
  EXPECT_TRUE(run_ids(running).empty());

  RunFilter since;
  since.since = kT0 + 1s;  // inclusive
  EXPECT_EQ(run_ids(since), (V{a3, a2, b1}));

  RunFilter limited;
  limited.limit = 2;
  EXPECT_EQ(run_ids(limited), (V{a3, a2}));

  RunFilter combined;
  combined.workflow = "a";
  combined.status = WorkflowStatus::kQueued;
  combined.since = kT0 - 1s;
  combined.limit = 3;
  EXPECT_EQ(run_ids(combined), (V{a3, a2, a0}));

  RunFilter unknown;
  unknown.workflow = "nope";
  EXPECT_TRUE(run_ids(unknown).empty());

  RunFilter none;
  none.limit = 0;
  EXPECT_TRUE(run_ids(none).empty());
}

// ---- steps --------------------------------------------------------------------------------

TEST_P(SqliteWorkflowsTest, BeginStepInsertsRunningOnceAndThenReturnsTheRow) {
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

TEST_P(SqliteWorkflowsTest, BeginStepOfAnUnknownRunIsValidationError) {
  EXPECT_THROW(be().begin_step(12345, "s", kT0), pgqrs::ValidationError);
}

TEST_P(SqliteWorkflowsTest, UpdateStepSetsGivenFieldsAndClearsRetryAt) {
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

TEST_P(SqliteWorkflowsTest, UpdateStepIsRefusedAfterSuccess) {
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

TEST_P(SqliteWorkflowsTest, UpdateOfAnUnknownStepIsFalse) {
  const auto id = run_in(WorkflowStatus::kRunning);
  StepUpdate u;
  u.status = WorkflowStatus::kSuccess;
  EXPECT_FALSE(be().update_step(id, "never-begun", u, kT0));
  EXPECT_FALSE(be().get_step(id, "never-begun"));
}

TEST_P(SqliteWorkflowsTest, ListStepsInCreationOrderPerRun) {
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

// ---- concurrency --------------------------------------------------------------------------

// Several backends (separate connection pools) on one file race to create the same workflow
// and begin the same step: one workflow, one queue, one step row.
TEST(SqliteWorkflowsConcurrency, CreateAndBeginStepRaceToOneRow) {
  ScratchDir dir;
  const std::string path = (dir.path() / "race.db").string();
  open_backend(path)->install();
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<Backend>> backends;
  for (int i = 0; i < kThreads; ++i) backends.push_back(open_backend(path));

  std::vector<std::int64_t> workflow_ids(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back(
          [&, i] { workflow_ids[i] = backends[i]->create_workflow("wf", kT0).id; });
    }
  }
  for (const auto id : workflow_ids) EXPECT_EQ(id, workflow_ids[0]);
  EXPECT_EQ(backends[0]->list_queues().size(), 1U);
  EXPECT_EQ(backends[0]->list_workflows().size(), 1U);

  const auto run_id = backends[0]->trigger_run("wf", "{}", kT0).run.id;
  std::vector<std::int64_t> step_ids(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] { step_ids[i] = backends[i]->begin_step(run_id, "s", kT0).id; });
    }
  }
  for (const auto id : step_ids) EXPECT_EQ(id, step_ids[0]);
  EXPECT_EQ(backends[0]->list_steps(run_id).size(), 1U);
}

}  // namespace
