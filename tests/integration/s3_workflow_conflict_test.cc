// A workflow step whose recording is refused by a concurrent S3 writer: the refusal (412,
// nothing applied) is storage trouble, not a verdict on the run. The replica applies the
// recording again on the other writer's version (H26), so the step is recorded once, its
// body runs once, and the run succeeds. (Were the conflict to persist past the replica's
// attempts, H20 gives the run's message back uncounted.) Found by make torture on s3.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "integration/s3_test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace pgqrs_test;
using pgqrs::json;

class S3WorkflowConflictTest : public ::testing::Test {
 protected:
  void SetUp() override { PGQRS_SKIP_UNLESS_S3(); }
  void TearDown() override {
    if (std::getenv("PGQRS_TEST_S3_BUCKET") != nullptr) DirectClient().remove(key_);
  }
  fs::path Cache(const std::string& name) { return dir_.path() / name; }

  std::string key_ = UniqueKey("wf-conflict");
  ScratchDir dir_{"pgqrs-s3-wf-conflict"};
};

TEST_F(S3WorkflowConflictTest, AStepWhoseRecordingConflictsIsRecordedOnTheNewVersion) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  pgqrs::workflow().name(std::string("wf")).create(a);
  a.queue("other");
  auto msg = pgqrs::workflow().name(std::string("wf")).trigger(json{{"n", 1}}).execute(a);
  const std::int64_t run_id = pgqrs::run().message(msg).store(a).record().id;
  // b writes inside the step body, from the newest version: a's copy is then stale, so
  // a's next write (recording the step) is refused.
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));

  std::atomic<int> bodies{0};
  pgqrs::WorkflowDef def("wf", [&](pgqrs::Run& run, const json&) {
    const int v = pgqrs::workflow_step(run, "s1", [&] {
      if (++bodies == 1) {
        pgqrs::admin(b).queue_metrics("other");  // a read brings b up to date (a wrote since)
        pgqrs::enqueue().message(json{{"from", "b"}}).to("other").execute(b);
      }
      return 7;
    });
    return json{{"v", v}};
  });
  auto consumer = pgqrs::consumer("conflicted", "wf").create(a);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  pgqrs::RunRecord record;
  do {
    ASSERT_NO_THROW(pgqrs::workflow().name(def).consumer(consumer).until(200ms).poll(a))
        << "a conflict ended the worker's loop";
    record = pgqrs::admin(a).get_run(run_id);
  } while (record.status != pgqrs::WorkflowStatus::kSuccess &&
           record.status != pgqrs::WorkflowStatus::kError &&
           std::chrono::steady_clock::now() < deadline);

  ASSERT_EQ(record.status, pgqrs::WorkflowStatus::kSuccess)
      << (record.error ? record.error->dump() : std::string("(no error)"));
  EXPECT_EQ(record.output, (json{{"v", 7}}));
  EXPECT_EQ(bodies.load(), 1)
      << "the refused recording is applied again on the new version (H26), not by a rerun";
  auto steps = pgqrs::admin(a).run_steps(run_id);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].status, pgqrs::WorkflowStatus::kSuccess);
  EXPECT_EQ(steps[0].retry_count, 0) << "a conflict is not a step failure";
  const pgqrs::QueueMetrics m = pgqrs::admin(a).queue_metrics("wf");
  EXPECT_EQ(m.archived, 1u);
  EXPECT_EQ(m.dead, 0u);
  EXPECT_EQ(pgqrs::admin(a).queue_metrics("other").pending, 1u) << "b's write is kept";
}

}  // namespace
