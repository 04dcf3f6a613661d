// SPEC §3: leases (visibility timeouts), lease expiry and redelivery, extend_vt.
#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class LeaseTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    MakeQueue("q");
  }
};

TEST_P(LeaseTest, LeaseExpiryRedeliversToAnotherConsumer) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto a = pgqrs::consumer("a", "q").create(store());
  auto b = pgqrs::consumer("b", "q").create(store());
  ASSERT_EQ(a.dequeue_with_vt(1, 30s).size(), 1u);

  Advance(29s);
  EXPECT_TRUE(b.dequeue(1).empty()) << "still leased by a";
  Advance(1s);  // vt == now: the lease has passed
  auto got = b.dequeue_with_vt(1, 30s);
  ASSERT_EQ(got.size(), 1u) << "expired lease must be redelivered";
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].read_ct, 2);
  EXPECT_EQ(got[0].consumer_worker_id, b.id());

  EXPECT_FALSE(a.archive(id)) << "previous holder lost ownership";
  EXPECT_FALSE(a.delete_message(id));
  EXPECT_FALSE(a.extend_vt(id, 60s));
  EXPECT_EQ(a.release_messages({id}), 0u);
  EXPECT_TRUE(b.archive(id)) << "new holder owns it";
}

TEST_P(LeaseTest, ExpiredLeaseRedeliversToSameConsumerToo) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto a = pgqrs::consumer("a", "q").create(store());
  ASSERT_EQ(a.dequeue_with_vt(1, 10s).size(), 1u);
  Advance(11s);
  auto again = a.dequeue_with_vt(1, 10s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, id);
  EXPECT_EQ(again[0].read_ct, 2);
}

TEST_P(LeaseTest, OwnerOpsFailAfterOwnLeaseExpired) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto a = pgqrs::consumer("a", "q").create(store());
  ASSERT_EQ(a.dequeue_with_vt(1, 10s).size(), 1u);
  Advance(10s + 1ms);
  EXPECT_FALSE(a.extend_vt(id, 60s)) << "an expired lease cannot be extended";
  EXPECT_FALSE(a.archive(id)) << "an expired lease cannot be archived";
  EXPECT_EQ(admin().queue_metrics("q").pending, 1u);
}

TEST_P(LeaseTest, DefaultLeaseComesFromConfig) {
  pgqrs::Store s = MakeStore([](pgqrs::Config& c) { c.default_lock_time_seconds = 10; });
  MakeQueue(s, "q");
  EnqueueNumbers(s, "q", 1);
  auto a = pgqrs::consumer("a", "q").create(s);
  auto b = pgqrs::consumer("b", "q").create(s);
  auto got = a.dequeue(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NEAR(MillisBetween(got[0].vt, now()), 10000, 1);
  Advance(9s);
  EXPECT_TRUE(b.dequeue(1).empty());
  Advance(1s + 1ms);
  EXPECT_EQ(b.dequeue(1).size(), 1u);
}

TEST_P(LeaseTest, ExtendVtKeepsMessageInvisiblePastOriginalLease) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto a = pgqrs::consumer("a", "q").create(store());
  auto b = pgqrs::consumer("b", "q").create(store());
  ASSERT_EQ(a.dequeue_with_vt(1, 10s).size(), 1u);
  Advance(5s);
  ASSERT_TRUE(a.extend_vt(id, 60s));
  EXPECT_NEAR(MillisBetween(admin().get_message(id).vt, now()), 60000, 1)
      << "extend_vt(id, s) sets the lease to expire s from now";
  Advance(30s);  // 35 s after dequeue: the original 10 s lease is long gone
  EXPECT_TRUE(b.dequeue(1).empty());
  EXPECT_TRUE(a.archive(id)) << "a still owns it";
}

TEST_P(LeaseTest, ExtendedLeaseEventuallyExpires) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto a = pgqrs::consumer("a", "q").create(store());
  auto b = pgqrs::consumer("b", "q").create(store());
  ASSERT_EQ(a.dequeue_with_vt(1, 10s).size(), 1u);
  ASSERT_TRUE(a.extend_vt(id, 20s));
  Advance(19s);
  EXPECT_TRUE(b.dequeue(1).empty());
  Advance(1s + 1ms);
  auto got = b.dequeue(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
}

TEST_P(LeaseTest, ExtendVtCanShortenTheLease) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto a = pgqrs::consumer("a", "q").create(store());
  auto b = pgqrs::consumer("b", "q").create(store());
  ASSERT_EQ(a.dequeue_with_vt(1, 300s).size(), 1u);
  ASSERT_TRUE(a.extend_vt(id, 5s));
  Advance(5s + 1ms);
  EXPECT_EQ(b.dequeue(1).size(), 1u);
}

TEST_P(LeaseTest, MetricsCountExpiredLeaseAsPendingAgain) {
  EnqueueNumbers("q", 1);
  auto a = pgqrs::consumer("a", "q").create(store());
  ASSERT_EQ(a.dequeue_with_vt(1, 10s).size(), 1u);
  EXPECT_EQ(admin().queue_metrics("q").leased, 1u);
  EXPECT_EQ(admin().queue_metrics("q").pending, 0u);
  Advance(11s);
  EXPECT_EQ(admin().queue_metrics("q").leased, 0u);
  EXPECT_EQ(admin().queue_metrics("q").pending, 1u);
  EXPECT_TRUE(admin().worker_messages(a.id()).empty()) << "a no longer leases it";
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(LeaseTest);

}  // namespace pgqrs_test
