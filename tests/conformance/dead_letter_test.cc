// SPEC §3: dead letters. A message delivered max_read_ct times that comes back again
// (released, failed, or lease expired) is dead-lettered: never delivered again, listed by
// admin.dlq, and replay_dlq makes it fresh.
#include <stdexcept>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class DeadLetterTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    s_.emplace(MakeStore([](pgqrs::Config& c) { c.max_read_ct = 2; }));
    MakeQueue(*s_, "q");
    MakeQueue(*s_, "other");
    c_.emplace(pgqrs::consumer("c", "q").create(*s_));
  }
  const pgqrs::Store& s() const { return *s_; }
  pgqrs::Admin adm() const { return pgqrs::admin(*s_); }
  const pgqrs::Consumer& c() const { return *c_; }

  // Delivers the only message of "q" and lets its lease expire, `times` times.
  void DeliverAndExpire(int times) {
    for (int i = 0; i < times; ++i) {
      ASSERT_EQ(c().dequeue_with_vt(1, 10s).size(), 1u) << "delivery " << i + 1;
      Advance(11s);
    }
  }

  std::optional<pgqrs::Store> s_;  // max_read_ct = 2
  std::optional<pgqrs::Consumer> c_;
};

TEST_P(DeadLetterTest, BelowMaxReadCtMessageIsRedeliveredNotDead) {
  auto id = EnqueueNumbers(s(), "q", 1)[0];
  DeliverAndExpire(1);
  EXPECT_TRUE(adm().dlq("q").empty());
  auto got = c().dequeue(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].read_ct, 2);
}

TEST_P(DeadLetterTest, LeaseExpiryAfterMaxReadCtDeliveriesDeadLetters) {
  auto id = EnqueueNumbers(s(), "q", 1)[0];
  DeliverAndExpire(2);
  auto dead = adm().dlq("q");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, id);
  EXPECT_EQ(dead[0].read_ct, 2);
  EXPECT_TRUE(c().dequeue(1).empty()) << "a dead letter is never delivered again";
  Advance(24h);
  EXPECT_FALSE(pgqrs::dequeue().from("q").fetch_one(s()).has_value());
  pgqrs::QueueMetrics m = adm().queue_metrics("q");
  EXPECT_EQ(m.dead, 1u);
  EXPECT_EQ(m.pending, 0u);
  EXPECT_EQ(m.leased, 0u);
  EXPECT_EQ(adm().dlq("q").size(), 1u) << "still listed after a dequeue attempt";
}

TEST_P(DeadLetterTest, ReleaseAfterMaxReadCtDeliveriesDeadLetters) {
  auto id = EnqueueNumbers(s(), "q", 1)[0];
  ASSERT_EQ(c().dequeue(1).size(), 1u);
  EXPECT_EQ(c().release_messages({id}), 1u);
  EXPECT_TRUE(adm().dlq("q").empty()) << "first release: read_ct 1 < 2";
  ASSERT_EQ(c().dequeue(1).size(), 1u);
  EXPECT_EQ(c().release_messages({id}), 1u) << "a release that dead-letters still applies";
  auto dead = adm().dlq("q");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, id);
  EXPECT_TRUE(adm().get_message(id).dead_at.has_value());
  EXPECT_TRUE(c().dequeue(1).empty());
  EXPECT_EQ(adm().queue_metrics("q").dead, 1u);
}

TEST_P(DeadLetterTest, ReleaseWithVisibilityAfterMaxReadCtDeadLetters) {
  auto id = EnqueueNumbers(s(), "q", 1)[0];
  DeliverAndExpire(1);
  ASSERT_EQ(c().dequeue(1).size(), 1u);
  EXPECT_TRUE(c().release_with_visibility(id, now() + 5s));
  Advance(10s);
  EXPECT_TRUE(c().dequeue(1).empty());
  EXPECT_EQ(adm().dlq("q").size(), 1u);
}

TEST_P(DeadLetterTest, HandlerFailureAfterMaxReadCtDeadLetters) {
  auto id = EnqueueNumbers(s(), "q", 1)[0];
  DeliverAndExpire(1);
  EXPECT_THROW(pgqrs::dequeue()
                   .from("q")
                   .worker(c())
                   .handle([](const pgqrs::QueueMessage&) { throw std::runtime_error("boom"); })
                   .execute(s()),
               std::runtime_error);
  Advance(10min);  // well past any retry backoff
  EXPECT_TRUE(c().dequeue(1).empty());
  auto dead = adm().dlq("q");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, id);
}

TEST_P(DeadLetterTest, ReplayDlqMakesMessageFresh) {
  auto id = EnqueueNumbers(s(), "q", 1)[0];
  DeliverAndExpire(2);
  ASSERT_EQ(adm().dlq("q").size(), 1u);
  EXPECT_TRUE(adm().replay_dlq(id));
  pgqrs::QueueMessage m = adm().get_message(id);
  EXPECT_EQ(m.read_ct, 0);
  EXPECT_FALSE(m.dead_at.has_value());
  EXPECT_FALSE(m.consumer_worker_id.has_value());
  EXPECT_LE(MillisBetween(m.vt, now()), 0) << "visible now";
  EXPECT_TRUE(adm().dlq("q").empty());
  EXPECT_EQ(adm().queue_metrics("q").pending, 1u);
  EXPECT_EQ(adm().queue_metrics("q").dead, 0u);

  auto got = c().dequeue(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].read_ct, 1);
  EXPECT_EQ(got[0].payload["n"], 0) << "payload survives the round trip";
}

TEST_P(DeadLetterTest, ReplayDlqOfLiveOrUnknownMessageReturnsFalse) {
  auto id = EnqueueNumbers(s(), "q", 1)[0];
  EXPECT_FALSE(adm().replay_dlq(id)) << "pending message is not a dead letter";
  ASSERT_EQ(c().dequeue(1).size(), 1u);
  EXPECT_FALSE(adm().replay_dlq(id)) << "leased message is not a dead letter";
  EXPECT_EQ(adm().get_message(id).read_ct, 1) << "a refused replay changes nothing";
  EXPECT_FALSE(adm().replay_dlq(987654321));
}

TEST_P(DeadLetterTest, DlqFiltersByQueue) {
  EnqueueNumbers(s(), "q", 1);
  auto other_id = EnqueueNumbers(s(), "other", 1)[0];
  auto oc = pgqrs::consumer("oc", "other").create(s());
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(c().dequeue_with_vt(1, 10s).size(), 1u);
    ASSERT_EQ(oc.dequeue_with_vt(1, 10s).size(), 1u);
    Advance(11s);
  }
  EXPECT_EQ(adm().dlq("q").size(), 1u);
  auto other_dead = adm().dlq("other");
  ASSERT_EQ(other_dead.size(), 1u);
  EXPECT_EQ(other_dead[0].id, other_id);
  EXPECT_EQ(adm().dlq().size(), 2u);
}

TEST_P(DeadLetterTest, DefaultMaxReadCtIsFive) {
  // The test's default store uses the documented default max_read_ct (5).
  ASSERT_EQ(store().config().max_read_ct, 5u);
  MakeQueue("five");
  auto id = EnqueueNumbers("five", 1)[0];
  auto k = pgqrs::consumer("k", "five").create(store());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(k.dequeue_with_vt(1, 10s).size(), 1u) << "delivery " << i + 1;
    Advance(11s);
  }
  EXPECT_TRUE(k.dequeue(1).empty());
  auto dead = admin().dlq("five");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, id);
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(DeadLetterTest);

}  // namespace pgqrs_test
