// Flow control (issue 14), per message: priorities (smaller first, FIFO within one) and dedup
// keys (one live message per key and queue; free again once archived or dead).
#include <string>
#include <vector>

#include "conformance/backend_fixture.h"
#include "pgqrs/queue_options.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class FlowMessagesTest : public ConformanceTest {};

pgqrs::MessageOptions Priority(std::int32_t p) {
  pgqrs::MessageOptions o;
  o.priority = p;
  return o;
}

pgqrs::MessageOptions Dedup(const std::string& key) {
  pgqrs::MessageOptions o;
  o.dedup_key = key;
  return o;
}

std::int64_t Enqueue(const pgqrs::Store& s, const std::string& queue, const pgqrs::json& payload,
                     const pgqrs::MessageOptions& o) {
  return pgqrs::enqueue().message(payload, o).to(queue).execute(s).front();
}

std::vector<std::string> Names(const std::vector<pgqrs::QueueMessage>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.payload.at("n").get<std::string>());
  return out;
}

TEST_P(FlowMessagesTest, SmallerPriorityFirstFifoWithinAPriority) {
  MakeQueue("q");
  Enqueue(store(), "q", {{"n", "a5"}}, Priority(5));
  Enqueue(store(), "q", {{"n", "b0"}}, Priority(0));
  Enqueue(store(), "q", {{"n", "c-3"}}, Priority(-3));
  Enqueue(store(), "q", {{"n", "d5"}}, Priority(5));
  Enqueue(store(), "q", {{"n", "e0"}}, Priority(0));
  Enqueue(store(), "q", {{"n", "f-3"}}, Priority(-3));
  const auto c = store().consumer("q");
  EXPECT_EQ(Names(c.dequeue(10)), (std::vector<std::string>{"c-3", "f-3", "b0", "e0", "a5", "d5"}));
}

TEST_P(FlowMessagesTest, PriorityOrderHoldsAcrossSmallBatches) {
  MakeQueue("q");
  Enqueue(store(), "q", {{"n", "low"}}, Priority(10));
  Enqueue(store(), "q", {{"n", "plain"}}, Priority(0));
  Enqueue(store(), "q", {{"n", "urgent"}}, Priority(-1));
  const auto c = store().consumer("q");
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    const auto got = Names(c.dequeue(1));
    ASSERT_EQ(got.size(), 1u);
    order.push_back(got[0]);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"urgent", "plain", "low"}));
}

TEST_P(FlowMessagesTest, ADelayedUrgentMessageWaitsUntilVisible) {
  MakeQueue("q");
  pgqrs::enqueue().message({{"n", "later"}}, Priority(-10)).delay(10s).to("q").execute(store());
  Enqueue(store(), "q", {{"n", "now"}}, Priority(0));
  const auto c = store().consumer("q");
  EXPECT_EQ(Names(c.dequeue(5)), (std::vector<std::string>{"now"}));
  Advance(10s);
  EXPECT_EQ(Names(c.dequeue(5)), (std::vector<std::string>{"later"}));
}

TEST_P(FlowMessagesTest, MessagesCarryTheirFlowFields) {
  MakeQueue("q");
  pgqrs::MessageOptions o;
  o.priority = -7;
  o.dedup_key = "order-1";
  o.concurrency_key = "customer-9";
  const std::int64_t id = Enqueue(store(), "q", {{"n", "x"}}, o);
  const pgqrs::QueueMessage m = admin().get_message(id);
  EXPECT_EQ(m.priority, -7);
  EXPECT_EQ(m.dedup_key, "order-1");
  EXPECT_EQ(m.concurrency_key, "customer-9");
  const auto leased = store().consumer("q").dequeue(1);
  ASSERT_EQ(leased.size(), 1u);
  EXPECT_EQ(leased[0].priority, -7);
  EXPECT_EQ(leased[0].concurrency_key, "customer-9");
}

TEST_P(FlowMessagesTest, ProducerEnqueueTakesMessageOptions) {
  MakeQueue("q");
  const auto p = store().producer("q");
  const std::int64_t a = p.enqueue({{"n", "a"}}, Dedup("k"));
  EXPECT_EQ(p.enqueue({{"n", "b"}}, Dedup("k")), a);
  const std::int64_t late = p.enqueue({{"n", "c"}}, Priority(-1), 5s);
  EXPECT_EQ(admin().get_message(late).priority, -1);
  EXPECT_EQ(AllMessages("q").size(), 2u);
}

TEST_P(FlowMessagesTest, DedupKeyWhilePendingReturnsTheLiveIdAndStoresNothing) {
  MakeQueue("q");
  const std::int64_t first = Enqueue(store(), "q", {{"n", "1"}}, Dedup("k"));
  EXPECT_EQ(Enqueue(store(), "q", {{"n", "2"}}, Dedup("k")), first);
  EXPECT_EQ(pgqrs::enqueue().message({{"n", "3"}}).dedup_key("k").to("q").execute(store()),
            std::vector<std::int64_t>{first});
  const auto all = AllMessages("q");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].payload.at("n"), "1");
}

TEST_P(FlowMessagesTest, DedupKeyHeldWhileLeasedFreedAfterArchive) {
  MakeQueue("q");
  const std::int64_t first = Enqueue(store(), "q", {{"n", "1"}}, Dedup("k"));
  const auto c = store().consumer("q");
  ASSERT_EQ(c.dequeue(1).size(), 1u);
  EXPECT_EQ(Enqueue(store(), "q", {{"n", "2"}}, Dedup("k")), first);
  ASSERT_TRUE(c.archive(first));
  const std::int64_t second = Enqueue(store(), "q", {{"n", "3"}}, Dedup("k"));
  EXPECT_NE(second, first);
  EXPECT_EQ(AllMessages("q").size(), 2u);
}

TEST_P(FlowMessagesTest, DedupKeyFreedOnceTheMessageIsDead) {
  const pgqrs::Store s = MakeStore([](pgqrs::Config& c) { c.max_read_ct = 1; });
  MakeQueue(s, "q");
  const std::int64_t first = Enqueue(s, "q", {{"n", "1"}}, Dedup("k"));
  const auto c = s.consumer("q");
  ASSERT_EQ(c.dequeue_with_vt(1, 5s).size(), 1u);
  EXPECT_EQ(Enqueue(s, "q", {{"n", "2"}}, Dedup("k")), first);  // leased: still live
  Advance(6s);  // lease expired after max_read_ct deliveries: a dead letter
  const std::int64_t second = Enqueue(s, "q", {{"n", "3"}}, Dedup("k"));
  EXPECT_NE(second, first);
  EXPECT_TRUE(admin(s).get_message(first).dead_at.has_value());
  // The new message holds the key now.
  EXPECT_EQ(Enqueue(s, "q", {{"n", "4"}}, Dedup("k")), second);
}

TEST_P(FlowMessagesTest, DedupKeysAreScopedToTheirQueue) {
  MakeQueue("a");
  MakeQueue("b");
  const std::int64_t in_a = Enqueue(store(), "a", {{"n", "1"}}, Dedup("k"));
  const std::int64_t in_b = Enqueue(store(), "b", {{"n", "1"}}, Dedup("k"));
  EXPECT_NE(in_a, in_b);
}

TEST_P(FlowMessagesTest, ABatchMixesNewAndDeduplicatedMessagesInInputOrder) {
  MakeQueue("q");
  const std::int64_t live = Enqueue(store(), "q", {{"n", "live"}}, Dedup("held"));
  const auto ids = pgqrs::enqueue()
                       .message({{"n", "x"}}, Dedup("new-1"))
                       .message({{"n", "y"}}, Dedup("held"))
                       .message({{"n", "z"}})
                       .to("q")
                       .execute(store());
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], live);
  EXPECT_NE(ids[0], live);
  EXPECT_NE(ids[2], live);
  EXPECT_LT(ids[0], ids[2]);
  EXPECT_EQ(AllMessages("q").size(), 3u);
}

TEST_P(FlowMessagesTest, DuplicateDedupKeysInOneBatchAreATypedErrorAndStoreNothing) {
  MakeQueue("q");
  const std::string own = ExpectThrowMessage<pgqrs::ValidationError>(
      [&] {
        pgqrs::enqueue()
            .message({{"n", "a"}}, Dedup("x"))
            .message({{"n", "b"}})
            .message({{"n", "c"}}, Dedup("x"))
            .to("q")
            .execute(store());
      },
      "two messages with key x");
  EXPECT_NE(own.find("dedup_key"), std::string::npos) << own;
  const std::string shared = ExpectThrowMessage<pgqrs::ValidationError>(
      [&] {
        pgqrs::enqueue()
            .messages({{{"n", "a"}}, {{"n", "b"}}})
            .dedup_key("y")
            .to("q")
            .execute(store());
      },
      "builder-wide key on a batch");
  EXPECT_NE(shared.find("dedup_key"), std::string::npos) << shared;
  EXPECT_TRUE(AllMessages("q").empty());
}

TEST_P(FlowMessagesTest, BadKeysAreTypedErrorsNamingTheField) {
  MakeQueue("q");
  pgqrs::MessageOptions empty_dedup;
  empty_dedup.dedup_key = "";
  const std::string a = ExpectThrowMessage<pgqrs::ValidationError>(
      [&] {
        Enqueue(store(), "q", {{"n", "a"}}, empty_dedup);
      },
      "empty dedup_key");
  EXPECT_NE(a.find("dedup_key"), std::string::npos) << a;
  pgqrs::MessageOptions long_key;
  long_key.concurrency_key = std::string(256, 'k');
  const std::string b = ExpectThrowMessage<pgqrs::ValidationError>(
      [&] {
        Enqueue(store(), "q", {{"n", "b"}}, long_key);
      },
      "long concurrency_key");
  EXPECT_NE(b.find("concurrency_key"), std::string::npos) << b;
  EXPECT_TRUE(AllMessages("q").empty());
}

TEST_P(FlowMessagesTest, AnIdempotentTriggerReturnsTheExistingRun) {
  pgqrs::workflow().name("report").create(store());
  const pgqrs::QueueMessage first =
      pgqrs::workflow().name("report").trigger({{"day", 1}}).dedup_key("day-1").execute(store());
  const pgqrs::QueueMessage again =
      pgqrs::workflow().name("report").trigger({{"day", 1}}).dedup_key("day-1").execute(store());
  EXPECT_EQ(again.id, first.id);
  const pgqrs::QueueMessage other = pgqrs::workflow()
                                        .name("report")
                                        .trigger({{"day", 2}})
                                        .dedup_key("day-2")
                                        .priority(-1)
                                        .execute(store());
  EXPECT_NE(other.id, first.id);
  EXPECT_EQ(other.priority, -1);
  EXPECT_EQ(AllMessages("report").size(), 2u);
  const auto c = store().consumer("report");
  const auto leased = c.dequeue(10);
  ASSERT_EQ(leased.size(), 2u);
  EXPECT_EQ(leased[0].id, other.id);  // priority -1 first
  ASSERT_TRUE(c.archive(first.id));
  const pgqrs::QueueMessage fresh =
      pgqrs::workflow().name("report").trigger({{"day", 1}}).dedup_key("day-1").execute(store());
  EXPECT_NE(fresh.id, first.id);  // the key is free once the message is archived
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(FlowMessagesTest);

}  // namespace pgqrs_test
