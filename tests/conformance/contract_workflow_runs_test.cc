// Backend contract (src/backend/backend.h) on every backend: workflow definitions, runs
// (trigger, the status compare-and-sets, cancellation's effect on the run message,
// listing). Time is injected (kT0 + offsets), never slept.
#include <optional>
#include <string>
#include <vector>

#include "conformance/backend_contract_workflows.h"
#include "core/run_transitions.h"

namespace pgqrs_test {
namespace {

class BackendWorkflowRunsContract : public WorkflowContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendWorkflowRunsContract);

// ---- workflows ----------------------------------------------------------------------------

TEST_P(BackendWorkflowRunsContract, CreateWorkflowIsIdempotentAndCreatesItsQueueOnce) {
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

TEST_P(BackendWorkflowRunsContract, CreateWorkflowAdoptsAnExistingQueueOfTheSameName) {
  const auto queue_id = make_queue("wf");
  EXPECT_EQ(be().create_workflow("wf", kT0).queue_id, queue_id);
  EXPECT_EQ(be().list_queues().size(), 1U);
}

TEST_P(BackendWorkflowRunsContract, ListWorkflowsByName) {
  be().create_workflow("b", kT0);
  be().create_workflow("a", kT0);
  const auto all = be().list_workflows();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[1].name, "b");
}

TEST_P(BackendWorkflowRunsContract, QueueOfAWorkflowCannotBeDeleted) {
  be().create_workflow("wf", kT0);
  EXPECT_THROW(be().delete_queue("wf"), pgqrs::ConflictError);
}

// ---- trigger ------------------------------------------------------------------------------

TEST_P(BackendWorkflowRunsContract, TriggerCreatesTheRunAndItsMessage) {
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

TEST_P(BackendWorkflowRunsContract, TriggerKeepsNonObjectInputs) {
  be().create_workflow("wf", kT0);
  for (const json& input : {json(nullptr), json(42), json("text"), json::array({1, 2})}) {
    const auto t = trigger("wf", input);
    EXPECT_EQ(run(t.run.id).input, input);
    EXPECT_EQ(t.message.payload, input);
  }
}

TEST_P(BackendWorkflowRunsContract, TriggerOfAnUnknownWorkflowIsValidationErrorAndCreatesNothing) {
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

// ---- run transitions ----------------------------------------------------------------------

TEST_P(BackendWorkflowRunsContract, StartRunMovesQueuedPausedAndRunningToRunning) {
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

TEST_P(BackendWorkflowRunsContract, StartOfACancellingRunCancelsIt) {
  const auto id = run_in(WorkflowStatus::kCancelling);
  const auto start = be().start_run(id, kT0 + 1s);
  EXPECT_FALSE(start.started);
  EXPECT_EQ(start.run.status, WorkflowStatus::kCancelled);
  EXPECT_EQ(run(id).status, WorkflowStatus::kCancelled);
}

TEST_P(BackendWorkflowRunsContract, StartOfAFinishedRunChangesNothing) {
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

TEST_P(BackendWorkflowRunsContract, StartOfAnUnknownRunIsNotStarted) {
  const auto start = be().start_run(12345, kT0);
  EXPECT_FALSE(start.started);
  EXPECT_EQ(start.run.id, 0);
}

TEST_P(BackendWorkflowRunsContract, FinishRunRecordsOutputOrErrorFromRunningOrCancelling) {
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

TEST_P(BackendWorkflowRunsContract, FinishRunIsRefusedFromOtherStates) {
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
TEST_P(BackendWorkflowRunsContract, FinishRunWithAStatusThatIsNotFinalIsAnInternalError) {
  const auto id = run_in(WorkflowStatus::kRunning);
  EXPECT_THROW(
      pgqrs::core::finish_run(be(), id, WorkflowStatus::kPaused, std::nullopt, std::nullopt, kT0),
      pgqrs::InternalError);
  EXPECT_EQ(run(id).status, WorkflowStatus::kRunning);
}

TEST_P(BackendWorkflowRunsContract, PauseRunFromQueuedRunningOrPausedStoresTheError) {
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

TEST_P(BackendWorkflowRunsContract, CancelMovesLiveRunsToCancelling) {
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

TEST_P(BackendWorkflowRunsContract, CancelOfAFinishedRunReturnsFalseAndChangesNothing) {
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

TEST_P(BackendWorkflowRunsContract, CancelOfAnUnknownRunIsNullopt) {
  EXPECT_EQ(be().cancel_run(12345, kT0), std::nullopt);
}

TEST_P(BackendWorkflowRunsContract, CancelMakesAnInvisibleReleasedMessageVisibleNow) {
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

TEST_P(BackendWorkflowRunsContract, CancelLeavesALeasedMessageToItsHolder) {
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

TEST_P(BackendWorkflowRunsContract, CancelKeepsAnAlreadyVisibleMessageInLine) {
  be().create_workflow("wf", kT0);
  const auto t = trigger("wf");
  EXPECT_EQ(be().cancel_run(t.run.id, kT0 + 5s), true);
  EXPECT_EQ(message(t.message.id).vt, kT0);
}

TEST_P(BackendWorkflowRunsContract, CancelLeavesArchivedMessagesAlone) {
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

TEST_P(BackendWorkflowRunsContract, ListRunsNewestFirstWithFilters) {
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

}  // namespace
}  // namespace pgqrs_test
