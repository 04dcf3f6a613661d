// SPEC §4: workers, their status machine, heartbeats, interrupt, zombies and cleanup.
#include <unistd.h>

#include <future>
#include <set>
#include <stop_token>
#include <thread>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::WorkerStatus;

class WorkerTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    queue_ = MakeQueue("q");
  }
  pgqrs::QueueInfo queue_;
};

TEST_P(WorkerTest, ConsumerAndProducerCreateReadyRows) {
  auto c = pgqrs::consumer("cons-1", "q").create(store());
  auto p = pgqrs::producer("prod-1", "q").create(store());
  EXPECT_GT(c.id(), 0);
  EXPECT_GT(p.id(), 0);
  EXPECT_NE(c.id(), p.id());
  EXPECT_EQ(c.name(), "cons-1");
  EXPECT_EQ(c.queue(), "q");
  EXPECT_EQ(c.queue_id(), queue_.id);
  EXPECT_EQ(c.kind(), pgqrs::WorkerKind::kConsumer);
  EXPECT_EQ(p.kind(), pgqrs::WorkerKind::kProducer);
  EXPECT_EQ(c.status(), WorkerStatus::kReady);

  pgqrs::WorkerInfo info = admin().get_worker(c.id());
  EXPECT_EQ(info.name, "cons-1");
  EXPECT_EQ(info.kind, pgqrs::WorkerKind::kConsumer);
  EXPECT_EQ(info.queue_id, queue_.id);
  EXPECT_EQ(info.status, WorkerStatus::kReady);
  EXPECT_EQ(info.pid, static_cast<std::int64_t>(::getpid()));
  EXPECT_FALSE(info.hostname.empty());
  EXPECT_LE(std::abs(MillisBetween(info.started_at, now())), 1);
  EXPECT_LE(std::abs(MillisBetween(info.heartbeat_at, now())), 1);
  EXPECT_FALSE(info.shutdown_at.has_value());
  EXPECT_EQ(admin().get_worker(p.id()).kind, pgqrs::WorkerKind::kProducer);
}

TEST_P(WorkerTest, StoreProducerAndConsumerGetGeneratedUniqueNames) {
  auto p1 = store().producer("q");
  auto p2 = store().producer("q");
  auto c1 = store().consumer("q");
  EXPECT_FALSE(p1.name().empty());
  EXPECT_NE(p1.name(), p2.name());
  EXPECT_NE(p1.name(), c1.name());
  EXPECT_NE(p1.id(), p2.id());
  EXPECT_EQ(c1.kind(), pgqrs::WorkerKind::kConsumer);
  EXPECT_EQ(admin().list_workers("q").size(), 3u);
}

TEST_P(WorkerTest, CreatingWorkerForUnknownQueueThrowsQueueNotFound) {
  EXPECT_THROW(pgqrs::consumer("c", "missing").create(store()), pgqrs::QueueNotFoundError);
  EXPECT_THROW(pgqrs::producer("p", "missing").create(store()), pgqrs::QueueNotFoundError);
  EXPECT_THROW(store().consumer("missing"), pgqrs::QueueNotFoundError);
  EXPECT_TRUE(admin().list_workers().empty());
}

TEST_P(WorkerTest, GetUnknownWorkerThrowsWorkerNotFound) {
  EXPECT_THROW(admin().get_worker(987654321), pgqrs::WorkerNotFoundError);
}

TEST_P(WorkerTest, ListWorkersFiltersByQueue) {
  MakeQueue("q2");
  auto a = pgqrs::consumer("a", "q").create(store());
  auto b = pgqrs::producer("b", "q").create(store());
  auto c = pgqrs::consumer("c", "q2").create(store());
  std::set<std::int64_t> q_ids;
  for (const auto& w : admin().list_workers("q")) q_ids.insert(w.id);
  EXPECT_EQ(q_ids, (std::set<std::int64_t>{a.id(), b.id()}));
  EXPECT_EQ(admin().list_workers("q2").size(), 1u);
  EXPECT_EQ(admin().list_workers().size(), 3u);
}

TEST_P(WorkerTest, LegalTransitionsSuspendResumeShutdown) {
  auto c = pgqrs::consumer("c", "q").create(store());
  c.suspend();
  EXPECT_EQ(c.status(), WorkerStatus::kSuspended);
  EXPECT_EQ(admin().get_worker(c.id()).status, WorkerStatus::kSuspended);
  c.resume();
  EXPECT_EQ(c.status(), WorkerStatus::kReady);
  c.suspend();
  Advance(5s);
  c.shutdown();
  EXPECT_EQ(c.status(), WorkerStatus::kStopped);
  pgqrs::WorkerInfo info = c.info();
  EXPECT_EQ(info.status, WorkerStatus::kStopped);
  ASSERT_TRUE(info.shutdown_at.has_value());
  EXPECT_LE(std::abs(MillisBetween(*info.shutdown_at, now())), 1);
}

TEST_P(WorkerTest, AdminTransitionsFollowTheSameMachine) {
  auto c = pgqrs::consumer("c", "q").create(store());
  EXPECT_EQ(admin().suspend_worker(c.id()).status, WorkerStatus::kSuspended);
  EXPECT_EQ(admin().resume_worker(c.id()).status, WorkerStatus::kReady);
  EXPECT_THROW(admin().shutdown_worker(c.id()), pgqrs::StateTransitionError);
  EXPECT_EQ(admin().suspend_worker(c.id()).status, WorkerStatus::kSuspended);
  EXPECT_EQ(admin().shutdown_worker(c.id()).status, WorkerStatus::kStopped);
  EXPECT_THROW(admin().suspend_worker(987654321), pgqrs::WorkerNotFoundError);
}

TEST_P(WorkerTest, IllegalTransitionThrowsStateTransitionNamingBothStates) {
  auto c = pgqrs::consumer("c", "q").create(store());

  std::string msg =
      ExpectThrowMessage<pgqrs::StateTransitionError>([&] { c.shutdown(); }, "ready -> stopped");
  EXPECT_TRUE(ContainsAny(msg, {"ready"})) << msg;
  EXPECT_TRUE(ContainsAny(msg, {"stopped"})) << msg;
  EXPECT_EQ(c.status(), WorkerStatus::kReady) << "a refused transition changes nothing";

  msg = ExpectThrowMessage<pgqrs::StateTransitionError>([&] { c.resume(); }, "ready -> ready");
  EXPECT_TRUE(ContainsAny(msg, {"ready"})) << msg;

  c.suspend();
  c.shutdown();
  msg = ExpectThrowMessage<pgqrs::StateTransitionError>([&] { c.resume(); }, "stopped -> ready");
  EXPECT_TRUE(ContainsAny(msg, {"stopped"})) << msg;
  EXPECT_TRUE(ContainsAny(msg, {"ready"})) << msg;

  msg =
      ExpectThrowMessage<pgqrs::StateTransitionError>([&] { c.suspend(); }, "stopped -> suspended");
  EXPECT_TRUE(ContainsAny(msg, {"stopped"})) << msg;
  EXPECT_TRUE(ContainsAny(msg, {"suspended"})) << msg;
  EXPECT_EQ(c.status(), WorkerStatus::kStopped);
}

TEST_P(WorkerTest, InterruptOfNonPollingWorkerThrowsStateTransition) {
  auto c = pgqrs::consumer("c", "q").create(store());
  std::string msg = ExpectThrowMessage<pgqrs::StateTransitionError>([&] { c.interrupt(); },
                                                                    "interrupt a ready worker");
  EXPECT_TRUE(ContainsAny(msg, {"ready"})) << msg;
  EXPECT_TRUE(ContainsAny(msg, {"interrupted"})) << msg;
  EXPECT_EQ(c.status(), WorkerStatus::kReady);
}

TEST_P(WorkerTest, HeartbeatUpdatesHeartbeatAtFromClock) {
  auto c = pgqrs::consumer("c", "q").create(store());
  Advance(42s);
  c.heartbeat();
  EXPECT_LE(std::abs(MillisBetween(c.info().heartbeat_at, now())), 1);
  Advance(10s);
  EXPECT_LE(std::abs(MillisBetween(admin().heartbeat_worker(c.id()).heartbeat_at, now())), 1);
  EXPECT_LE(std::abs(MillisBetween(admin().get_worker(c.id()).heartbeat_at, now())), 1);
}

// Runs a handler poll of `c` on another thread, with a stop token as a safety net.
struct BackgroundPoll {
  std::stop_source guard;
  std::future<pgqrs::PollStats> fut;
};

std::unique_ptr<BackgroundPoll> StartHandlerPoll(const pgqrs::Store& s, const pgqrs::Consumer& c) {
  auto bg = std::make_unique<BackgroundPoll>();
  auto token = bg->guard.get_token();
  bg->fut = std::async(std::launch::async, [&s, c, token] {
    return pgqrs::dequeue()
        .worker(c)
        .stop_token(token)
        .handle([](const pgqrs::QueueMessage&) {})
        .poll(s);
  });
  return bg;
}

TEST_P(WorkerTest, InterruptPollingWorkerReturnsPromptlyAndLeavesItSuspended) {
  auto c = pgqrs::consumer("c", "q").create(store());
  auto bg = StartHandlerPoll(store(), c);
  bool polling = EventuallyTrue([&] { return c.status() == WorkerStatus::kPolling; }, 5000ms);
  if (!polling) {
    bg->guard.request_stop();
    bg->fut.wait();
    FAIL() << "worker never reached status polling while poll() ran";
  }
  const auto t0 = std::chrono::steady_clock::now();
  c.interrupt();
  bool returned = WaitReady(bg->fut, 2000ms);
  if (!returned) bg->guard.request_stop();
  bg->fut.wait();
  ASSERT_TRUE(returned) << "poll() did not return within 2 s of interrupt()";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
  pgqrs::PollStats stats = bg->fut.get();
  EXPECT_EQ(stats.stop, pgqrs::PollStop::kInterrupted) << pgqrs::to_string(stats.stop);
  EXPECT_EQ(c.status(), WorkerStatus::kSuspended);
  EXPECT_EQ(admin().get_worker(c.id()).status, WorkerStatus::kSuspended);
}

TEST_P(WorkerTest, SuspendViaAdminStopsAPollingWorker) {
  // Another process would change the status in the database; the loop must notice.
  auto c = pgqrs::consumer("c", "q").create(store());
  auto bg = StartHandlerPoll(store(), c);
  bool polling = EventuallyTrue([&] { return c.status() == WorkerStatus::kPolling; }, 5000ms);
  if (!polling) {
    bg->guard.request_stop();
    bg->fut.wait();
    FAIL() << "worker never reached status polling while poll() ran";
  }
  admin().suspend_worker(c.id());
  // Nothing wakes the loop in-process: it re-reads its status once per poll interval of
  // the store's clock.
  ASSERT_TRUE(WaitForWaiters(2)) << "the poll loop never went idle";
  Advance(std::chrono::milliseconds(config_.poll_interval_ms));
  bool returned = WaitReady(bg->fut, 5000ms);
  if (!returned) bg->guard.request_stop();
  bg->fut.wait();
  ASSERT_TRUE(returned) << "poll() kept running after the worker was suspended";
  EXPECT_EQ(bg->fut.get().stop, pgqrs::PollStop::kInterrupted);
  EXPECT_EQ(c.status(), WorkerStatus::kSuspended);
}

TEST_P(WorkerTest, InterruptStopsAPollWithoutHandler) {
  auto c = pgqrs::consumer("c", "q").create(store());
  std::stop_source guard;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue().worker(c).stop_token(guard.get_token()).poll(store());
  });
  bool polling = EventuallyTrue([&] { return c.status() == WorkerStatus::kPolling; }, 5000ms);
  if (polling) c.interrupt();
  bool returned = WaitReady(fut, 2000ms);
  if (!returned) guard.request_stop();
  fut.wait();
  ASSERT_TRUE(polling) << "worker never reached status polling while poll() waited";
  ASSERT_TRUE(returned) << "poll() did not return within 2 s of interrupt()";
  EXPECT_TRUE(fut.get().empty());
  EXPECT_EQ(c.status(), WorkerStatus::kSuspended);
}

TEST_P(WorkerTest, ShutdownRefusedWhileHoldingLeasedMessages) {
  auto ids = EnqueueNumbers("q", 2);
  auto c = pgqrs::consumer("c", "q").create(store());
  ASSERT_EQ(c.dequeue(2).size(), 2u);
  c.suspend();
  // Ambiguity: the error type is not fixed by the headers; any pgqrs::Error is accepted.
  EXPECT_THROW(c.shutdown(), pgqrs::Error);
  EXPECT_EQ(c.status(), WorkerStatus::kSuspended);
  EXPECT_EQ(admin().worker_messages(c.id()).size(), 2u) << "a refused shutdown releases nothing";
  EXPECT_EQ(c.release_messages(ids), 2u);
  EXPECT_NO_THROW(c.shutdown());
  EXPECT_EQ(c.status(), WorkerStatus::kStopped);
}

TEST_P(WorkerTest, ShutdownAllowedOnceLeasesHaveExpired) {
  EnqueueNumbers("q", 1);
  auto c = pgqrs::consumer("c", "q").create(store());
  ASSERT_EQ(c.dequeue_with_vt(1, 10s).size(), 1u);
  c.suspend();
  Advance(11s);  // the lease is gone: the worker holds nothing
  EXPECT_NO_THROW(c.shutdown());
  EXPECT_EQ(c.status(), WorkerStatus::kStopped);
}

TEST_P(WorkerTest, ReclaimZombieReleasesItsMessagesAndStopsIt) {
  MakeQueue("q2");
  EnqueueNumbers("q", 3);
  EnqueueNumbers("q2", 1);
  auto zombie = pgqrs::consumer("zombie", "q").create(store());
  auto healthy = pgqrs::consumer("healthy", "q").create(store());
  auto elsewhere = pgqrs::consumer("elsewhere", "q2").create(store());
  ASSERT_EQ(zombie.dequeue_with_vt(2, 3600s).size(), 2u);
  ASSERT_EQ(healthy.dequeue_with_vt(1, 3600s).size(), 1u);
  ASSERT_EQ(elsewhere.dequeue_with_vt(1, 3600s).size(), 1u);

  Advance(120s);
  healthy.heartbeat();
  EXPECT_EQ(admin().reclaim_messages("q", 60s), 2u);

  EXPECT_EQ(zombie.status(), WorkerStatus::kStopped);
  EXPECT_EQ(healthy.status(), WorkerStatus::kReady);
  EXPECT_NE(elsewhere.status(), WorkerStatus::kStopped) << "other queues are untouched";
  pgqrs::QueueMetrics m = admin().queue_metrics("q");
  EXPECT_EQ(m.pending, 2u) << "reclaimed messages are visible now";
  EXPECT_EQ(m.leased, 1u);
  EXPECT_EQ(admin().queue_metrics("q2").leased, 1u);

  auto other = pgqrs::consumer("other", "q").create(store());
  EXPECT_EQ(other.dequeue(5).size(), 2u);
}

TEST_P(WorkerTest, ReclaimLeavesRecentlyBeatingWorkersAlone) {
  EnqueueNumbers("q", 1);
  auto c = pgqrs::consumer("c", "q").create(store());
  ASSERT_EQ(c.dequeue_with_vt(1, 3600s).size(), 1u);
  Advance(59s);
  EXPECT_EQ(admin().reclaim_messages("q", 60s), 0u);
  EXPECT_EQ(c.status(), WorkerStatus::kReady);
  EXPECT_EQ(admin().queue_metrics("q").leased, 1u);
}

TEST_P(WorkerTest, PurgeOldWorkersDeletesOnlyStoppedUnreferencedOnes) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto unreferenced = pgqrs::consumer("unref", "q").create(store());
  auto referenced = pgqrs::consumer("ref", "q").create(store());
  auto live = pgqrs::consumer("live", "q").create(store());
  ASSERT_EQ(referenced.dequeue(1).size(), 1u);
  ASSERT_TRUE(referenced.archive(id));  // the archived row keeps consumer_worker_id
  for (const auto* w : {&unreferenced, &referenced}) {
    w->suspend();
    w->shutdown();
  }
  Advance(2h);
  auto recent = pgqrs::consumer("recent", "q").create(store());
  recent.suspend();
  recent.shutdown();

  EXPECT_EQ(admin().purge_old_workers(1h), 1u);
  EXPECT_THROW(admin().get_worker(unreferenced.id()), pgqrs::WorkerNotFoundError);
  EXPECT_NO_THROW(admin().get_worker(referenced.id()));
  EXPECT_NO_THROW(admin().get_worker(live.id()));
  EXPECT_NO_THROW(admin().get_worker(recent.id()));
}

TEST_P(WorkerTest, DeleteWorkerOnlyWhenStoppedAndUnreferenced) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto c = pgqrs::consumer("c", "q").create(store());
  auto r = pgqrs::consumer("r", "q").create(store());
  EXPECT_THROW(admin().delete_worker(c.id()), pgqrs::ConflictError) << "live worker";
  ASSERT_EQ(r.dequeue(1).size(), 1u);
  ASSERT_TRUE(r.archive(id));
  r.suspend();
  r.shutdown();
  EXPECT_THROW(admin().delete_worker(r.id()), pgqrs::ConflictError) << "referenced by a message";
  c.suspend();
  c.shutdown();
  EXPECT_NO_THROW(admin().delete_worker(c.id()));
  EXPECT_THROW(admin().get_worker(c.id()), pgqrs::WorkerNotFoundError);
  EXPECT_THROW(admin().delete_worker(987654321), pgqrs::WorkerNotFoundError);
}

TEST_P(WorkerTest, OneShotHelpersDoNotGrowWorkerRows) {
  EnqueueNumbers("q", 30);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value()) << "call " << i;
    pgqrs::enqueue().message({{"i", i}}).to("q").execute(store());
  }
  for (int i = 0; i < 5; ++i) {
    pgqrs::dequeue().from("q").handle([](const pgqrs::QueueMessage&) {}).execute(store());
  }
  EXPECT_LE(admin().list_workers("q").size(), 1u);
  EXPECT_LE(admin().list_workers().size(), 1u);
}

TEST_P(WorkerTest, OneShotHelpersOnSecondQueueAddAtMostOneRowPerQueue) {
  MakeQueue("q2");
  EnqueueNumbers("q", 5);
  EnqueueNumbers("q2", 5);
  for (int i = 0; i < 5; ++i) {
    pgqrs::dequeue().from("q").fetch_one(store());
    pgqrs::dequeue().from("q2").fetch_one(store());
  }
  EXPECT_LE(admin().list_workers("q").size(), 1u);
  EXPECT_LE(admin().list_workers("q2").size(), 1u);
}

TEST_P(WorkerTest, InterruptedWorkerCanResumeAndPollAgain) {
  auto c = pgqrs::consumer("c", "q").create(store());
  {
    auto bg = StartHandlerPoll(store(), c);
    bool polling = EventuallyTrue([&] { return c.status() == WorkerStatus::kPolling; }, 5000ms);
    if (polling) c.interrupt();
    bool returned = WaitReady(bg->fut, 2000ms);
    if (!returned) bg->guard.request_stop();
    bg->fut.wait();
    ASSERT_TRUE(polling && returned);
  }
  ASSERT_EQ(c.status(), WorkerStatus::kSuspended);
  c.resume();
  EXPECT_EQ(c.status(), WorkerStatus::kReady);
  EnqueueNumbers("q", 3);
  std::stop_source guard;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue()
        .worker(c)
        .until_empty()
        .stop_token(guard.get_token())
        .handle([](const pgqrs::QueueMessage&) {})
        .poll(store());
  });
  bool returned = WaitReady(fut, 10000ms);
  if (!returned) guard.request_stop();
  fut.wait();
  ASSERT_TRUE(returned);
  EXPECT_EQ(fut.get().processed, 3u);
  EXPECT_EQ(admin().queue_metrics("q").archived, 3u);
}

// A stopped consumer has been shut down (it had to release its leases first); it must not
// lease messages again. Ambiguity: the error type is not fixed by the headers (any
// pgqrs::Error is accepted); what is pinned is that nothing is leased.
TEST_P(WorkerTest, StoppedConsumerCannotLeaseMessages) {
  EnqueueNumbers("q", 2);
  auto c = pgqrs::consumer("c", "q").create(store());
  c.suspend();
  c.shutdown();
  EXPECT_THROW(c.dequeue(1), pgqrs::Error);
  EXPECT_THROW(pgqrs::dequeue().worker(c).fetch_one(store()), pgqrs::Error);
  EXPECT_TRUE(admin().worker_messages(c.id()).empty());
  EXPECT_EQ(admin().queue_metrics("q").pending, 2u);
  EXPECT_EQ(admin().queue_metrics("q").leased, 0u);
}

TEST_P(WorkerTest, WorkerOfAnotherQueueIsRejected) {
  MakeQueue("q2");
  EnqueueNumbers("q2", 1);
  auto c = pgqrs::consumer("c", "q").create(store());
  auto p = pgqrs::producer("p", "q").create(store());
  EXPECT_THROW(pgqrs::dequeue().from("q2").worker(c).fetch_one(store()), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::enqueue().message({{"a", 1}}).to("q2").worker(p).execute(store()),
               pgqrs::ValidationError);
  EXPECT_EQ(admin().queue_metrics("q2").pending, 1u);
  EXPECT_TRUE(AllMessages("q").empty());
}

TEST_P(WorkerTest, NegativeExtendVtIsValidationError) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto c = pgqrs::consumer("c", "q").create(store());
  ASSERT_EQ(c.dequeue(1).size(), 1u);
  const auto vt = admin().get_message(id).vt;
  EXPECT_THROW(c.extend_vt(id, -5s), pgqrs::ValidationError);
  EXPECT_EQ(admin().get_message(id).vt, vt);
}

// The ephemeral consumer behind one-shot calls is a worker like any other: if it is
// reclaimed as a zombie (stopped), later one-shot calls must not lease with the stopped row.
TEST_P(WorkerTest, OneShotFetchNeverLeasesWithAStoppedWorker) {
  EnqueueNumbers("q", 2);
  auto first = pgqrs::dequeue().from("q").with_vt(3600s).fetch_one(store());
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->consumer_worker_id.has_value());
  Advance(120s);
  EXPECT_EQ(admin().reclaim_messages("q", 60s), 1u);
  ASSERT_EQ(admin().get_worker(*first->consumer_worker_id).status, WorkerStatus::kStopped);

  auto next = pgqrs::dequeue().from("q").fetch_one(store());
  ASSERT_TRUE(next.has_value());
  ASSERT_TRUE(next->consumer_worker_id.has_value());
  EXPECT_NE(admin().get_worker(*next->consumer_worker_id).status, WorkerStatus::kStopped)
      << "message " << next->id << " is leased by stopped worker " << *next->consumer_worker_id;
}

TEST_P(WorkerTest, EphemeralConsumerStoppedAndLeasesReleasedWhenLastStoreCopyGoes) {
  if (!GetParam().persistent) {
    GTEST_SKIP() << GetParam().name << " is not persistent: a second store cannot share it";
  }
  EnqueueNumbers("q", 1);
  std::int64_t ephemeral = 0;
  {
    pgqrs::Store second = pgqrs::connect_with_config(config_, clock_);
    pgqrs::Store copy = second;
    auto got = pgqrs::dequeue().from("q").fetch_one(copy);
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(got->consumer_worker_id.has_value());
    ephemeral = *got->consumer_worker_id;
    EXPECT_EQ(admin().queue_metrics("q").leased, 1u);
  }
  EXPECT_EQ(admin().get_worker(ephemeral).status, WorkerStatus::kStopped);
  EXPECT_EQ(admin().queue_metrics("q").leased, 0u);
  EXPECT_EQ(admin().queue_metrics("q").pending, 1u);
}

TEST(WorkerEnumsTest, StatusAndKindNamesRoundTrip) {
  for (auto s : {WorkerStatus::kReady, WorkerStatus::kPolling, WorkerStatus::kSuspended,
                 WorkerStatus::kInterrupted, WorkerStatus::kStopped}) {
    EXPECT_EQ(pgqrs::parse_worker_status(pgqrs::to_string(s)), s);
  }
  EXPECT_EQ(pgqrs::to_string(WorkerStatus::kReady), "ready");
  EXPECT_EQ(pgqrs::to_string(WorkerStatus::kPolling), "polling");
  EXPECT_EQ(pgqrs::to_string(WorkerStatus::kSuspended), "suspended");
  EXPECT_EQ(pgqrs::to_string(WorkerStatus::kInterrupted), "interrupted");
  EXPECT_EQ(pgqrs::to_string(WorkerStatus::kStopped), "stopped");
  EXPECT_FALSE(pgqrs::parse_worker_status("sleeping").has_value());
  for (auto k :
       {pgqrs::WorkerKind::kProducer, pgqrs::WorkerKind::kConsumer, pgqrs::WorkerKind::kAdmin}) {
    EXPECT_EQ(pgqrs::parse_worker_kind(pgqrs::to_string(k)), k);
  }
  EXPECT_FALSE(pgqrs::parse_worker_kind("janitor").has_value());
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(WorkerTest);

}  // namespace pgqrs_test
