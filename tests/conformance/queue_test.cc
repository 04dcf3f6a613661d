// SPEC §3: queue management and queue/worker names.
#include <algorithm>
#include <set>
#include <string>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class QueueTest : public ConformanceTest {};

std::set<std::string> QueueNames(const std::vector<pgqrs::QueueInfo>& queues) {
  std::set<std::string> names;
  for (const auto& q : queues) names.insert(q.queue_name);
  return names;
}

TEST_P(QueueTest, StoreQueueCreatesQueueStampedWithClock) {
  pgqrs::QueueInfo q = store().queue("jobs");
  EXPECT_GT(q.id, 0);
  EXPECT_EQ(q.queue_name, "jobs");
  EXPECT_LE(std::abs(MillisBetween(q.created_at, now())), 1);
  pgqrs::QueueInfo again = admin().get_queue("jobs");
  EXPECT_EQ(again.id, q.id);
  EXPECT_EQ(again.queue_name, "jobs");
}

TEST_P(QueueTest, CreatingExistingQueueThrowsQueueAlreadyExists) {
  store().queue("jobs");
  EXPECT_THROW(store().queue("jobs"), pgqrs::QueueAlreadyExistsError);
  EXPECT_THROW(admin().create_queue("jobs"), pgqrs::QueueAlreadyExistsError);
  EXPECT_EQ(admin().list_queues().size(), 1u);
}

TEST_P(QueueTest, AdminCreateQueueCreates) {
  pgqrs::QueueInfo q = admin().create_queue("admin_made");
  EXPECT_EQ(q.queue_name, "admin_made");
  EXPECT_EQ(admin().get_queue("admin_made").id, q.id);
}

TEST_P(QueueTest, GetUnknownQueueThrowsQueueNotFound) {
  std::string msg = ExpectThrowMessage<pgqrs::QueueNotFoundError>(
      [&] { admin().get_queue("nope"); }, "get_queue(nope)");
  EXPECT_TRUE(ContainsAny(msg, {"nope"})) << "message should name the queue: " << msg;
}

TEST_P(QueueTest, ListQueuesReturnsExactlyTheCreatedQueues) {
  EXPECT_TRUE(admin().list_queues().empty());
  MakeQueue("a");
  MakeQueue("b");
  MakeQueue("c");
  EXPECT_EQ(QueueNames(admin().list_queues()), (std::set<std::string>{"a", "b", "c"}));
}

TEST_P(QueueTest, DeleteQueueRefusedWhileMessagesThenAllowedAfterPurge) {
  MakeQueue("busy");
  EnqueueNumbers("busy", 3);
  // One archived message also counts as a message row of the queue.
  auto c = pgqrs::consumer("c1", "busy").create(store());
  auto msgs = c.dequeue(1);
  ASSERT_EQ(msgs.size(), 1u);
  ASSERT_TRUE(c.archive(msgs[0].id));
  c.suspend();
  c.shutdown();

  EXPECT_THROW(admin().delete_queue("busy"), pgqrs::ConflictError);
  EXPECT_EQ(admin().get_queue("busy").queue_name, "busy");
  EXPECT_EQ(admin().queue_metrics("busy").pending, 2u) << "a refused delete changes nothing";

  EXPECT_EQ(admin().purge_queue("busy"), 3u) << "purge counts pending and archived messages";
  EXPECT_NO_THROW(admin().delete_queue("busy"));
  EXPECT_THROW(admin().get_queue("busy"), pgqrs::QueueNotFoundError);
}

TEST_P(QueueTest, DeleteQueueRefusedWhileLiveWorkerThenAllowedWhenStopped) {
  MakeQueue("staffed");
  auto c = pgqrs::consumer("c1", "staffed").create(store());
  EXPECT_THROW(admin().delete_queue("staffed"), pgqrs::ConflictError);
  c.suspend();
  c.shutdown();
  EXPECT_NO_THROW(admin().delete_queue("staffed"));
  EXPECT_TRUE(admin().list_queues().empty());
}

TEST_P(QueueTest, DeleteEmptyQueueSucceeds) {
  MakeQueue("empty");
  admin().delete_queue("empty");
  EXPECT_THROW(admin().get_queue("empty"), pgqrs::QueueNotFoundError);
  // The name is free again.
  EXPECT_NO_THROW(MakeQueue("empty"));
}

TEST_P(QueueTest, DeleteOrPurgeUnknownQueueThrowsQueueNotFound) {
  EXPECT_THROW(admin().delete_queue("nope"), pgqrs::QueueNotFoundError);
  EXPECT_THROW(admin().purge_queue("nope"), pgqrs::QueueNotFoundError);
}

TEST_P(QueueTest, PurgeQueueRemovesAllStatesAndOnlyThatQueue) {
  MakeQueue("p");
  MakeQueue("other");
  EnqueueNumbers("p", 4);
  pgqrs::enqueue().message({{"later", true}}).to("p").delay(60s).execute(store());
  EnqueueNumbers("other", 2);
  auto leased = pgqrs::dequeue().from("p").fetch_one(store());
  ASSERT_TRUE(leased.has_value());

  EXPECT_EQ(admin().purge_queue("p"), 5u);
  pgqrs::QueueMetrics m = admin().queue_metrics("p");
  EXPECT_EQ(m.pending + m.delayed + m.leased + m.archived + m.dead, 0u);
  EXPECT_TRUE(AllMessages("p").empty());
  EXPECT_EQ(admin().queue_metrics("other").pending, 2u);
}

// Bad names: never created, ValidationError, whatever the entry point.
class QueueNameTest : public ConformanceTest {};

const std::vector<std::string>& BadNames() {
  static const std::vector<std::string> names = {
      "",
      std::string(129, 'a'),
      "a b",
      "x;drop table pgqrs_queues",
      "q'--",
      "caf\xC3\xA9",  // "café": non-ASCII
      "\xE9\x98\x9F\xE5\x88\x97",
      "a/b",
      "tab\there",
      "new\nline",
  };
  return names;
}

TEST_P(QueueNameTest, InvalidQueueNamesThrowValidationErrorAndCreateNothing) {
  for (const auto& name : BadNames()) {
    EXPECT_THROW(store().queue(name), pgqrs::ValidationError) << "name: '" << name << "'";
    EXPECT_THROW(admin().create_queue(name), pgqrs::ValidationError) << "name: '" << name << "'";
  }
  EXPECT_TRUE(admin().list_queues().empty());
}

TEST_P(QueueNameTest, ValidNameCharsetAndLengthBoundaryAccepted) {
  const std::string longest(128, 'z');
  EXPECT_NO_THROW(MakeQueue(longest));
  EXPECT_NO_THROW(MakeQueue("Az09_.:-"));
  EXPECT_NO_THROW(MakeQueue("x"));
  EXPECT_EQ(QueueNames(admin().list_queues()), (std::set<std::string>{longest, "Az09_.:-", "x"}));
}

TEST_P(QueueNameTest, EnqueueToInvalidQueueNameThrowsValidationError) {
  EXPECT_THROW(pgqrs::enqueue().message({{"a", 1}}).to("a b").execute(store()),
               pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::enqueue().message({{"a", 1}}).to("x;drop").execute(store()),
               pgqrs::ValidationError);
}

TEST_P(QueueNameTest, InvalidWorkerNamesThrowValidationErrorAndCreateNoWorker) {
  MakeQueue("jobs");
  for (const auto& name : BadNames()) {
    EXPECT_THROW(pgqrs::consumer(name, "jobs").create(store()), pgqrs::ValidationError)
        << "name: '" << name << "'";
    EXPECT_THROW(pgqrs::producer(name, "jobs").create(store()), pgqrs::ValidationError)
        << "name: '" << name << "'";
  }
  EXPECT_TRUE(admin().list_workers().empty());
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(QueueTest);
PGQRS_INSTANTIATE_CONFORMANCE(QueueNameTest);

}  // namespace pgqrs_test
