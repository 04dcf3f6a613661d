// SPEC §4: metrics. Buckets as defined in records.h (QueueMetrics).
#include <algorithm>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class MetricsTest : public ConformanceTest {};

const pgqrs::QueueMetrics* Find(const std::vector<pgqrs::QueueMetrics>& all,
                                const std::string& name) {
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const pgqrs::QueueMetrics& m) { return m.queue_name == name; });
  return it == all.end() ? nullptr : &*it;
}

TEST_P(MetricsTest, EmptyQueueHasZeroCountsAndNoOldestPending) {
  pgqrs::QueueInfo q = MakeQueue("q");
  pgqrs::QueueMetrics m = admin().queue_metrics("q");
  EXPECT_EQ(m.queue_id, q.id);
  EXPECT_EQ(m.queue_name, "q");
  EXPECT_EQ(m.pending + m.delayed + m.leased + m.archived + m.dead, 0u);
  EXPECT_FALSE(m.oldest_pending_age.has_value());
}

TEST_P(MetricsTest, QueueMetricsOfUnknownQueueThrowsQueueNotFound) {
  EXPECT_THROW(admin().queue_metrics("nope"), pgqrs::QueueNotFoundError);
}

// A scripted sequence touching every bucket, on a store with max_read_ct = 1 so that any
// message that comes back after one delivery is dead.
TEST_P(MetricsTest, BucketsFollowAScriptedSequence) {
  pgqrs::Store s = MakeStore([](pgqrs::Config& c) { c.max_read_ct = 1; });
  pgqrs::Admin a = admin(s);
  MakeQueue(s, "q");
  auto c = pgqrs::consumer("c", "q").create(s);

  const pgqrs::TimePoint t0 = now();
  auto p = EnqueueNumbers(s, "q", 3);  // p[0], p[1], p[2] pending at t0
  auto d = pgqrs::enqueue().message({{"delayed", 1}}).to("q").delay(60s).execute(s)[0];
  auto x = pgqrs::enqueue().message({{"dies", 1}}).to("q").execute(s)[0];
  {
    pgqrs::QueueMetrics m = a.queue_metrics("q");
    EXPECT_EQ(m.pending, 4u);
    EXPECT_EQ(m.delayed, 1u);
    EXPECT_EQ(m.leased, 0u);
    ASSERT_TRUE(m.oldest_pending_age.has_value());
    EXPECT_LE(m.oldest_pending_age->count(), 1);
  }

  Advance(10s);
  ASSERT_EQ(c.dequeue_with_vt(3, 30s).size(), 3u);  // p[0], p[1], p[2]
  ASSERT_TRUE(c.archive(p[1]));
  ASSERT_EQ(c.release_messages({p[2]}), 1u);  // read_ct 1 >= max 1: dead
  {
    pgqrs::QueueMetrics m = a.queue_metrics("q");
    EXPECT_EQ(m.pending, 1u) << "x";
    EXPECT_EQ(m.delayed, 1u) << "d";
    EXPECT_EQ(m.leased, 1u) << "p[0]";
    EXPECT_EQ(m.archived, 1u) << "p[1]";
    EXPECT_EQ(m.dead, 1u) << "p[2]";
    ASSERT_TRUE(m.oldest_pending_age.has_value());
    EXPECT_NEAR(static_cast<double>(m.oldest_pending_age->count()), 10000.0, 1.0)
        << "x has been pending for 10 s";
  }

  Advance(31s);  // t0 + 41 s: p[0]'s lease expired after its only allowed delivery
  {
    pgqrs::QueueMetrics m = a.queue_metrics("q");
    EXPECT_EQ(m.pending, 1u);
    EXPECT_EQ(m.delayed, 1u);
    EXPECT_EQ(m.leased, 0u);
    EXPECT_EQ(m.archived, 1u);
    EXPECT_EQ(m.dead, 2u) << "an expired lease at max_read_ct is dead, not pending";
  }

  Advance(30s);  // t0 + 71 s: d became visible at t0 + 60 s
  {
    pgqrs::QueueMetrics m = a.queue_metrics("q");
    EXPECT_EQ(m.pending, 2u);
    EXPECT_EQ(m.delayed, 0u);
    EXPECT_EQ(m.dead, 2u);
    ASSERT_TRUE(m.oldest_pending_age.has_value());
    EXPECT_NEAR(static_cast<double>(m.oldest_pending_age->count()),
                static_cast<double>(MillisBetween(now(), t0)), 1.0)
        << "oldest pending is x, enqueued at t0";
  }
  (void)d;
  (void)x;
}

TEST_P(MetricsTest, AllQueuesMetricsCoversEveryQueue) {
  MakeQueue("a");
  MakeQueue("b");
  MakeQueue("empty");
  EnqueueNumbers("a", 3);
  EnqueueNumbers("b", 1);
  pgqrs::enqueue().message({{"d", 1}}).to("b").delay(5s).execute(store());
  auto all = admin().all_queues_metrics();
  EXPECT_EQ(all.size(), 3u);
  const auto* a = Find(all, "a");
  const auto* b = Find(all, "b");
  const auto* e = Find(all, "empty");
  ASSERT_TRUE(a && b && e);
  EXPECT_EQ(a->pending, 3u);
  EXPECT_EQ(b->pending, 1u);
  EXPECT_EQ(b->delayed, 1u);
  EXPECT_EQ(e->pending + e->delayed, 0u);
  EXPECT_EQ(a->queue_id, admin().get_queue("a").id);
}

TEST_P(MetricsTest, SystemStatsTotalsAcrossQueuesAndWorkers) {
  MakeQueue("a");
  MakeQueue("b");
  EnqueueNumbers("a", 4);
  EnqueueNumbers("b", 2);
  auto c = pgqrs::consumer("c", "a").create(store());
  auto stopped = pgqrs::consumer("s", "b").create(store());
  stopped.suspend();
  stopped.shutdown();
  auto leased = c.dequeue(2);
  ASSERT_EQ(leased.size(), 2u);
  ASSERT_TRUE(c.archive(leased[0].id));
  pgqrs::enqueue().message({{"d", 1}}).to("b").delay(5s).execute(store());

  pgqrs::SystemStats st = admin().system_stats();
  EXPECT_EQ(st.queues, 2u);
  EXPECT_EQ(st.workers, 2u);
  EXPECT_EQ(st.active_workers, 1u);
  EXPECT_EQ(st.pending, 4u);
  EXPECT_EQ(st.delayed, 1u);
  EXPECT_EQ(st.leased, 1u);
  EXPECT_EQ(st.archived, 1u);
  EXPECT_EQ(st.dead, 0u);
  EXPECT_EQ(st.backend, GetParam().backend);
  EXPECT_GT(st.schema_version, 0);
}

TEST_P(MetricsTest, WorkerStatsCountsByStatusAndLeases) {
  MakeQueue("q");
  MakeQueue("other");
  EnqueueNumbers("q", 5);
  auto ready = pgqrs::consumer("r", "q").create(store());
  auto suspended = pgqrs::consumer("s", "q").create(store());
  auto stopped = pgqrs::producer("p", "q").create(store());
  pgqrs::consumer("elsewhere", "other").create(store());
  ASSERT_EQ(ready.dequeue(2).size(), 2u);
  ASSERT_EQ(suspended.dequeue(1).size(), 1u);
  suspended.suspend();
  stopped.suspend();
  stopped.shutdown();

  pgqrs::WorkerStats ws = admin().worker_stats("q");
  EXPECT_EQ(ws.queue_name, "q");
  EXPECT_EQ(ws.total, 3u);
  EXPECT_EQ(ws.ready, 1u);
  EXPECT_EQ(ws.suspended, 1u);
  EXPECT_EQ(ws.stopped, 1u);
  EXPECT_EQ(ws.polling, 0u);
  EXPECT_EQ(ws.interrupted, 0u);
  EXPECT_EQ(ws.leased_messages, 3u);

  Advance(31s);  // default 30 s leases expired
  EXPECT_EQ(admin().worker_stats("q").leased_messages, 0u);
  EXPECT_THROW(admin().worker_stats("nope"), pgqrs::QueueNotFoundError);
}

TEST_P(MetricsTest, WorkerHealthFollowsHeartbeatAgeOnTheClock) {
  MakeQueue("q");
  auto c = pgqrs::consumer("c", "q").create(store());
  auto gone = pgqrs::consumer("gone", "q").create(store());
  gone.suspend();
  gone.shutdown();

  auto health_of = [&](std::int64_t id) -> std::optional<pgqrs::WorkerHealth> {
    for (const auto& h : admin().worker_health(60s)) {
      if (h.worker.id == id) return h;
    }
    return std::nullopt;
  };

  Advance(30s);
  auto h = health_of(c.id());
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->healthy);
  EXPECT_NEAR(static_cast<double>(h->since_heartbeat.count()), 30000.0, 1.0);
  EXPECT_FALSE(health_of(gone.id()).has_value()) << "stopped workers are not listed";

  Advance(31s);
  h = health_of(c.id());
  ASSERT_TRUE(h.has_value());
  EXPECT_FALSE(h->healthy) << "61 s since the last heartbeat, timeout 60 s";

  c.heartbeat();
  h = health_of(c.id());
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->healthy);
  EXPECT_LE(h->since_heartbeat.count(), 1);
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(MetricsTest);

}  // namespace pgqrs_test
