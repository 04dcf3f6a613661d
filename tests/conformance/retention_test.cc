// Retention (pgqrs/retention.h) on every backend: only rows older than the retention go,
// in bounded batches, dry runs change nothing, one pruner at a time, finished workflow runs
// by their workflow's retain_finished, and bad input is a typed error naming the field.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class RetentionTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    MakeQueue("q");
    consumer_.emplace(pgqrs::consumer("c", "q").create(store()));
  }
  // Enqueues and archives `n` messages now.
  void Archive(int n) {
    EnqueueNumbers("q", n);
    auto msgs = consumer_->dequeue(static_cast<std::uint32_t>(n));
    ASSERT_EQ(msgs.size(), static_cast<std::size_t>(n));
    for (const auto& m : msgs) ASSERT_TRUE(consumer_->archive(m.id));
  }
  std::size_t Archived() {
    auto all = AllMessages("q");
    return static_cast<std::size_t>(
        std::count_if(all.begin(), all.end(), [](auto& m) { return m.archived_at.has_value(); }));
  }
  std::optional<pgqrs::Consumer> consumer_;
};
PGQRS_INSTANTIATE_CONFORMANCE(RetentionTest);

TEST_P(RetentionTest, PrunesOnlyOldArchivedMessagesInBoundedBatches) {
  Archive(25);
  Advance(2h);
  Archive(5);
  EnqueueNumbers("q", 3);  // pending: never pruned
  std::vector<std::uint64_t> progress;
  pgqrs::PruneOptions o;
  o.archived_older_than = 1h;
  o.batch_size = 10;
  o.on_progress = [&](const pgqrs::PruneProgress& p) {
    EXPECT_EQ(p.queue, "q");
    EXPECT_EQ(p.kind, "archived");
    progress.push_back(p.deleted);
  };
  auto r = pgqrs::prune(store(), o);
  EXPECT_FALSE(r.skipped);
  EXPECT_EQ(r.archived, 25u);
  EXPECT_EQ(r.batches, 3u);
  EXPECT_EQ(progress, (std::vector<std::uint64_t>{10, 20, 25}));
  EXPECT_EQ(Archived(), 5u);
  EXPECT_EQ(AllMessages("q").size(), 8u);
}

TEST_P(RetentionTest, QueueRetentionOptionsDriveADefaultPrune) {
  pgqrs::QueueOptions opts;
  opts.retain_archived = 1h;
  admin().create_queue("kept1h", opts);
  auto c = pgqrs::consumer("c2", "kept1h").create(store());
  EnqueueNumbers("kept1h", 4);
  for (const auto& m : c.dequeue(4)) ASSERT_TRUE(c.archive(m.id));
  Archive(2);  // "q" has no retention: kept
  Advance(30min);
  EXPECT_EQ(pgqrs::prune(store(), {}).archived, 0u);  // not old enough yet
  Advance(31min);
  auto r = pgqrs::prune(store(), {});
  EXPECT_EQ(r.archived, 4u);
  EXPECT_EQ(Archived(), 2u);
  EXPECT_TRUE(AllMessages("kept1h").empty());
  // Without the queue settings nothing is due.
  Archive(1);
  Advance(2h);
  pgqrs::PruneOptions o;
  o.use_queue_retention = false;
  EXPECT_EQ(pgqrs::prune(store(), o).archived, 0u);
}

TEST_P(RetentionTest, APollLoopPrunesByTheQueueSettings) {
  pgqrs::QueueOptions opts;
  opts.retain_archived = 1h;
  admin().create_queue("auto", opts);
  auto c = pgqrs::consumer("c3", "auto").create(store());
  EnqueueNumbers("auto", 3);
  for (const auto& m : c.dequeue(3)) ASSERT_TRUE(c.archive(m.id));
  Advance(2h);
  // A handler's poll loop that ends when the queue is empty (nothing pending here).
  auto stats = pgqrs::dequeue()
                   .from("auto")
                   .until_empty()
                   .handle([](const pgqrs::QueueMessage&) {})
                   .poll(store());
  EXPECT_EQ(stats.processed, 0u);
  EXPECT_TRUE(AllMessages("auto").empty());
}

TEST_P(RetentionTest, DryRunCountsAndChangesNothing) {
  Archive(7);
  Advance(2h);
  pgqrs::PruneOptions o;
  o.archived_older_than = 1h;
  o.dead_older_than = 1h;
  o.dry_run = true;
  auto r = pgqrs::prune(store(), o);
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.archived, 7u);
  EXPECT_EQ(r.dead, 0u);
  EXPECT_EQ(Archived(), 7u);
}

TEST_P(RetentionTest, PrunesOldDeadLettersOnly) {
  auto s = MakeStore([](pgqrs::Config& c) { c.max_read_ct = 1; });
  MakeQueue(s, "d");
  auto c = pgqrs::consumer("cd", "d").create(s);
  EnqueueNumbers(s, "d", 4);
  ASSERT_EQ(c.dequeue_with_vt(4, 10s).size(), 4u);
  Advance(11s);
  EXPECT_TRUE(c.dequeue_with_vt(4, 10s).empty());  // all four dead-lettered now
  ASSERT_EQ(pgqrs::admin(s).dlq("d").size(), 4u);
  Advance(30min);
  pgqrs::PruneOptions o;
  o.dead_older_than = 1h;
  EXPECT_EQ(pgqrs::prune(s, o).dead, 0u);  // not old enough
  Advance(31min);
  o.archived_older_than = 1h;
  auto r = pgqrs::prune(s, o);
  EXPECT_EQ(r.dead, 4u);
  EXPECT_EQ(r.archived, 0u);
  EXPECT_TRUE(pgqrs::admin(s).dlq("d").empty());
}

TEST_P(RetentionTest, OnePrunerAtATime) {
  Archive(3);
  Advance(2h);
  // Another store on the same database where the case has one; else the same store (each
  // prune() call is its own lease holder, so the database lease still decides).
  pgqrs::Store other =
      GetParam().persistent ? MakeStore([&](pgqrs::Config& c) { c = config_; }, false) : store();
  pgqrs::PruneOptions o;
  o.archived_older_than = 1h;
  o.batch_size = 1;
  std::optional<pgqrs::PruneResult> inner;
  o.on_progress = [&](const pgqrs::PruneProgress&) {
    if (inner) return;
    pgqrs::PruneOptions again;
    again.archived_older_than = 1h;
    inner = pgqrs::prune(other, again);  // while the first holds the lease
  };
  auto r = pgqrs::prune(store(), o);
  ASSERT_TRUE(inner.has_value());
  EXPECT_TRUE(inner->skipped);
  EXPECT_EQ(inner->archived, 0u);
  EXPECT_EQ(r.archived, 3u);
  // Released afterwards: the next pruner runs.
  EXPECT_FALSE(pgqrs::prune(other, o).skipped);
}

TEST_P(RetentionTest, FinishedRunsGoAfterTheirWorkflowsRetention) {
  pgqrs::workflow().name("wf").create(store());
  pgqrs::workflow().name("keep").create(store());
  EXPECT_EQ(pgqrs::workflow_retention(store(), "wf"), std::nullopt);
  pgqrs::set_workflow_retention(store(), "wf", 1h);
  EXPECT_EQ(pgqrs::workflow_retention(store(), "wf"), pgqrs::Duration(1h));
  for (const char* wf : {"wf", "keep"}) {
    auto msg = pgqrs::workflow().name(wf).trigger({{"x", 1}}).execute(store());
    auto run = pgqrs::run().message(msg).store(store()).execute();
    run.start();
    ASSERT_TRUE(run.complete({{"ok", true}}));
  }
  pgqrs::workflow().name("wf").trigger({{"x", 2}}).execute(store());  // queued: kept
  Advance(2h);
  pgqrs::PruneOptions o;
  o.dry_run = true;
  EXPECT_EQ(pgqrs::prune(store(), o).runs, 1u);
  o.dry_run = false;
  EXPECT_EQ(pgqrs::prune(store(), o).runs, 1u);
  auto runs = admin().list_runs({});
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) {
    EXPECT_TRUE(run.workflow_name == "keep" || run.status == pgqrs::WorkflowStatus::kQueued);
  }
}

// The throttle waits, on the store's clock, throttle x as long as the batch took before the
// next batch. Here each batch "takes" 1 s (on_progress moves the manual clock), so with
// throttle 2 the prune stays between batches until the test moves the clock 2 s more.
TEST_P(RetentionTest, TheThrottlePausesBetweenBatchesOnTheStoresClock) {
  Archive(3);
  Advance(1min);
  std::atomic<int> batches{0};
  pgqrs::PruneOptions o;
  o.archived_older_than = 30s;
  o.batch_size = 1;
  o.throttle = 2;
  o.on_progress = [&](const pgqrs::PruneProgress&) {
    Advance(1s);
    ++batches;
  };
  const std::size_t idle = clock_->waiting();  // other threads already waiting on the clock
  pgqrs::PruneResult result;
  std::thread pruner([&] { result = pgqrs::prune(store(), o); });
  // Batches so far, once the pruner waits on the clock after the n-th (10 s at most).
  auto paused_after = [&](int n) {
    for (int i = 0; i < 2000 && (batches.load() < n || clock_->waiting() <= idle); ++i) {
      std::this_thread::sleep_for(5ms);
    }
    return batches.load();
  };
  ASSERT_EQ(paused_after(1), 1);
  Advance(1s);  // half the pause: it goes on
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(paused_after(1), 1) << "the pause ended early";
  Advance(1s);
  EXPECT_EQ(paused_after(2), 2);
  Advance(2s);
  EXPECT_EQ(paused_after(3), 3);
  Advance(2s);
  pruner.join();
  EXPECT_EQ(result.archived, 3u);
  EXPECT_EQ(Archived(), 0u);
}

TEST_P(RetentionTest, BadInputIsATypedErrorNamingTheField) {
  pgqrs::PruneOptions o;
  o.archived_older_than = -1s;
  EXPECT_EQ(ExpectThrowMessage<pgqrs::ValidationError>([&] { pgqrs::prune(store(), o); }, "neg")
                .rfind("archived_older_than: ", 0),
            0u);
  o = {};
  o.dead_older_than = -1s;
  EXPECT_EQ(ExpectThrowMessage<pgqrs::ValidationError>([&] { pgqrs::prune(store(), o); }, "neg")
                .rfind("dead_older_than: ", 0),
            0u);
  o = {};
  o.batch_size = 0;
  EXPECT_EQ(ExpectThrowMessage<pgqrs::ValidationError>([&] { pgqrs::prune(store(), o); }, "batch")
                .rfind("batch_size: ", 0),
            0u);
  o = {};
  o.throttle = -0.5;
  EXPECT_EQ(ExpectThrowMessage<pgqrs::ValidationError>([&] { pgqrs::prune(store(), o); }, "thr")
                .rfind("throttle: ", 0),
            0u);
  o = {};
  o.queue = "nope";
  ExpectThrowMessage<pgqrs::QueueNotFoundError>([&] { pgqrs::prune(store(), o); }, "queue");
  pgqrs::workflow().name("wf").create(store());
  EXPECT_EQ(ExpectThrowMessage<pgqrs::ValidationError>(
                [&] { pgqrs::set_workflow_retention(store(), "wf", -1s); }, "retain")
                .rfind("retain_finished: ", 0),
            0u);
  EXPECT_EQ(pgqrs::workflow_retention(store(), "wf"), std::nullopt);
  ExpectThrowMessage<pgqrs::ValidationError>(
      [&] { pgqrs::set_workflow_retention(store(), "nowf", 1s); }, "unknown wf");
}

}  // namespace
}  // namespace pgqrs_test
