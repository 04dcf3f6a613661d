// Flow control (issue 14): the limits a dequeue respects, read from the queue row inside
// the leasing transaction: concurrency, worker_concurrency, key_concurrency (without
// head-of-line blocking) and the sliding-window rate limit. Time is the ManualClock.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "conformance/backend_fixture.h"
#include "pgqrs/queue_options.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class FlowLimitsTest : public ConformanceTest {
 protected:
  void MakeLimited(const std::string& name, const std::function<void(pgqrs::QueueOptions&)>& set) {
    pgqrs::QueueOptions o;
    set(o);
    store().queue(name, o);
  }
  // Enqueues one message per key ("" = no concurrency key), payload {"n": "<i>:<key>"}.
  void EnqueueKeys(const std::string& queue, const std::vector<std::string>& keys) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      pgqrs::MessageOptions o;
      if (!keys[i].empty()) o.concurrency_key = keys[i];
      pgqrs::enqueue()
          .message({{"n", std::to_string(i) + ":" + keys[i]}}, o)
          .to(queue)
          .execute(store());
    }
  }
};

std::vector<std::string> Names(const std::vector<pgqrs::QueueMessage>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.payload.at("n").get<std::string>());
  return out;
}

TEST_P(FlowLimitsTest, ConcurrencyCapsLeasesAcrossConsumers) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.concurrency = 3; });
  EnqueueNumbers("q", 10);
  const auto a = store().consumer("q");
  const auto b = store().consumer("q");
  const auto held = a.dequeue(10);
  EXPECT_EQ(held.size(), 3u);
  EXPECT_TRUE(b.dequeue(10).empty());
  ASSERT_TRUE(a.archive(held[0].id));
  EXPECT_EQ(b.dequeue(10).size(), 1u);  // exactly the one freed
  EXPECT_TRUE(a.dequeue(10).empty());
}

TEST_P(FlowLimitsTest, AnExpiredLeaseNoLongerCounts) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.concurrency = 2; });
  EnqueueNumbers("q", 5);
  const auto a = store().consumer("q");
  const auto b = store().consumer("q");
  EXPECT_EQ(a.dequeue_with_vt(5, 10s).size(), 2u);
  EXPECT_TRUE(b.dequeue(5).empty());
  Advance(11s);
  EXPECT_EQ(b.dequeue(5).size(), 2u);
}

TEST_P(FlowLimitsTest, WorkerConcurrencyCapsEachConsumer) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.worker_concurrency = 2; });
  EnqueueNumbers("q", 10);
  const auto a = store().consumer("q");
  const auto b = store().consumer("q");
  EXPECT_EQ(a.dequeue(10).size(), 2u);
  EXPECT_TRUE(a.dequeue(10).empty());
  EXPECT_EQ(b.dequeue(10).size(), 2u);
}

// A key at its limit never hides other keys' messages, nor messages without a key.
TEST_P(FlowLimitsTest, KeyConcurrencySkipsBusyKeysWithoutBlockingOthers) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.key_concurrency = 1; });
  EnqueueKeys("q", {"k1", "k1", "k1", "k2", "", "k3", "k2"});
  const auto a = store().consumer("q");
  const auto first = a.dequeue(10);
  EXPECT_EQ(Names(first), (std::vector<std::string>{"0:k1", "3:k2", "4:", "5:k3"}));
  EXPECT_TRUE(store().consumer("q").dequeue(10).empty());
  ASSERT_TRUE(a.archive(first[0].id));  // k1 free again
  EXPECT_EQ(Names(a.dequeue(10)), (std::vector<std::string>{"1:k1"}));
}

TEST_P(FlowLimitsTest, KeyConcurrencyAboveOneAllowsThatMany) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.key_concurrency = 2; });
  EnqueueKeys("q", {"k", "k", "k", "j"});
  EXPECT_EQ(Names(store().consumer("q").dequeue(10)),
            (std::vector<std::string>{"0:k", "1:k", "3:j"}));
}

TEST_P(FlowLimitsTest, KeyLimitAppliesToLeasesHeldByOtherConsumers) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.key_concurrency = 1; });
  EnqueueKeys("q", {"k", "k", "j"});
  EXPECT_EQ(Names(store().consumer("q").dequeue(1)), (std::vector<std::string>{"0:k"}));
  EXPECT_EQ(Names(store().consumer("q").dequeue(10)), (std::vector<std::string>{"2:j"}));
}

TEST_P(FlowLimitsTest, RateLimitIsASlidingWindow) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.rate_limit = pgqrs::RateLimit{3, 10s}; });
  EnqueueNumbers("q", 20);
  const auto c = store().consumer("q");
  EXPECT_EQ(c.dequeue(2).size(), 2u);  // t = 0
  Advance(6s);
  EXPECT_EQ(c.dequeue(10).size(), 1u);  // t = 6: 3 in (−4, 6]
  EXPECT_TRUE(c.dequeue(10).empty());
  Advance(3s);
  EXPECT_TRUE(c.dequeue(10).empty());  // t = 9: the t=0 leases are still in (−1, 9]
  Advance(1s);
  EXPECT_EQ(c.dequeue(10).size(), 2u);  // t = 10: (0, 10] holds only the t=6 lease
  Advance(6s);
  EXPECT_EQ(c.dequeue(10).size(), 1u);  // t = 16: the t=6 one left
}

TEST_P(FlowLimitsTest, TheRateWindowIsSharedByEveryConsumer) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.rate_limit = pgqrs::RateLimit{2, 1s}; });
  EnqueueNumbers("q", 5);
  EXPECT_EQ(store().consumer("q").dequeue(1).size(), 1u);
  EXPECT_EQ(store().consumer("q").dequeue(5).size(), 1u);
  EXPECT_TRUE(store().consumer("q").dequeue(5).empty());
}

// A dequeue whose `now` lags one already committed (it was read before the statement waited
// for the queue's lock: several processes, a slow pooler) still sees every lease that can
// share a window with its own (F12). Found as 19 leases in one 500 ms window under PgBouncer.
TEST_P(FlowLimitsTest, ADequeueWithALaggingClockStillRespectsTheRateWindow) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) { o.rate_limit = pgqrs::RateLimit{3, 1s}; });
  EnqueueNumbers("q", 10);
  const auto c = store().consumer("q");
  const pgqrs::TimePoint t = now();
  EXPECT_EQ(c.dequeue_at(10, 30s, t).size(), 3u);          // 3 in (t-1, t]: full
  EXPECT_EQ(c.dequeue_at(1, 30s, t + 1050ms).size(), 1u);  // the t leases have left
  // A caller whose now is t + 500 ms: (t-500 ms, t+500 ms] already holds the 3 leases of t.
  EXPECT_TRUE(c.dequeue_at(10, 30s, t + 500ms).empty());
  EXPECT_EQ(c.dequeue_at(10, 30s, t + 2s).size(), 2u);  // (t+1, t+2]: the t+1.05 one held
}

TEST_P(FlowLimitsTest, LimitsCombineAndPrioritiesStillOrder) {
  MakeLimited("q", [](pgqrs::QueueOptions& o) {
    o.concurrency = 2;
    o.key_concurrency = 1;
  });
  for (const auto& [name, prio, key] : std::vector<std::tuple<std::string, int, std::string>>{
           {"a", 5, "k"}, {"b", -1, "k"}, {"c", 0, "j"}, {"d", -2, "j"}}) {
    pgqrs::MessageOptions o;
    o.priority = prio;
    o.concurrency_key = key;
    pgqrs::enqueue().message({{"n", name}}, o).to("q").execute(store());
  }
  // d (-2, j), b (-1, k): two keys, the queue-wide cap of 2.
  EXPECT_EQ(Names(store().consumer("q").dequeue(10)), (std::vector<std::string>{"d", "b"}));
  EXPECT_TRUE(store().consumer("q").dequeue(10).empty());
}

TEST_P(FlowLimitsTest, UpdatingOptionsTakesEffectOnTheNextDequeue) {
  MakeQueue("q");
  EnqueueNumbers("q", 10);
  const auto a = store().consumer("q");
  EXPECT_EQ(a.dequeue(2).size(), 2u);
  admin().update_queue("q", [](pgqrs::QueueOptions& o) { o.concurrency = 3; });
  EXPECT_EQ(a.dequeue(10).size(), 1u);
  admin().update_queue("q", [](pgqrs::QueueOptions& o) { o.concurrency.reset(); });
  EXPECT_EQ(a.dequeue(10).size(), 7u);
}

TEST_P(FlowLimitsTest, ADequeueOnALimitedQueueStillDeadLetters) {
  const pgqrs::Store s = MakeStore([](pgqrs::Config& c) { c.max_read_ct = 1; });
  pgqrs::QueueOptions o;
  o.concurrency = 5;
  s.queue("q", o);
  EnqueueNumbers(s, "q", 2);
  const auto c = s.consumer("q");
  EXPECT_EQ(c.dequeue_with_vt(1, 5s).size(), 1u);
  Advance(6s);
  EXPECT_EQ(c.dequeue(5).size(), 1u);  // the other one; the first is dead now
  EXPECT_EQ(admin(s).dlq("q").size(), 1u);
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(FlowLimitsTest);

}  // namespace pgqrs_test
