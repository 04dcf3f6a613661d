// Backend contract (src/backend/backend.h) on every backend: schema install/uninstall,
// queues, enqueue and dequeue (order, limit, lease fields, redelivery, unknown consumer).
// Time is injected (kT0 + offsets), never slept.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {
namespace {

class BackendQueuesContract : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendQueuesContract);

// ---- schema -------------------------------------------------------------------------------

TEST_P(BackendQueuesContract, InstallIsIdempotentAndRecordsTheVersion) {
  EXPECT_EQ(be().name(), backend_name());
  EXPECT_EQ(be().schema_version(), pgqrs::backend::kSchemaVersion);
  be().install();
  be().install();
  EXPECT_EQ(be().schema_version(), pgqrs::backend::kSchemaVersion);
}

TEST_P(BackendQueuesContract, UninstallDropsEverythingAndIsIdempotent) {
  make_queue("q");
  enqueue("q", 3);
  be().uninstall();
  EXPECT_EQ(be().schema_version(), std::nullopt);
  be().uninstall();
  EXPECT_EQ(be().schema_version(), std::nullopt);
  be().install();
  EXPECT_EQ(be().schema_version(), pgqrs::backend::kSchemaVersion);
  EXPECT_TRUE(be().list_queues().empty());
}

TEST_P(BackendQueuesContract, VersionIsNulloptBeforeInstall) {
  EXPECT_EQ(OpenFresh(/*install=*/false).schema_version(), std::nullopt);
}

// ---- queues -------------------------------------------------------------------------------

TEST_P(BackendQueuesContract, CreateFindAndListQueues) {
  const auto info = be().create_queue("beta", kT0);
  EXPECT_GT(info.id, 0);
  EXPECT_EQ(info.queue_name, "beta");
  EXPECT_EQ(info.created_at, kT0);
  make_queue("alpha");

  const auto found = be().find_queue("beta");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, info.id);
  EXPECT_EQ(found->created_at, kT0);
  EXPECT_FALSE(be().find_queue("missing").has_value());

  const auto all = be().list_queues();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].queue_name, "alpha");
  EXPECT_EQ(all[1].queue_name, "beta");
}

TEST_P(BackendQueuesContract, CreatingAnExistingQueueThrows) {
  make_queue("q");
  EXPECT_THROW(be().create_queue("q", kT0), pgqrs::QueueAlreadyExistsError);
}

TEST_P(BackendQueuesContract, DeleteQueueRefusedWhileMessagesOrLiveWorkersReferenceIt) {
  make_queue("q");
  const auto worker = make_worker("c", "q");
  enqueue("q", 2);
  EXPECT_THROW(be().delete_queue("q"), pgqrs::ConflictError);
  EXPECT_EQ(be().purge_queue("q"), 2U);
  EXPECT_THROW(be().delete_queue("q"), pgqrs::ConflictError);  // worker still ready
  ASSERT_TRUE(be().change_worker_status(worker, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0)
                  .applied);
  be().delete_queue("q");
  EXPECT_FALSE(be().find_queue("q").has_value());
  EXPECT_FALSE(be().get_worker(worker).has_value());  // its stopped, unreferenced worker too
  EXPECT_THROW(be().delete_queue("q"), pgqrs::QueueNotFoundError);
}

TEST_P(BackendQueuesContract, UnknownQueueIsQueueNotFoundEverywhere) {
  EXPECT_THROW(be().purge_queue("nope"), pgqrs::QueueNotFoundError);
  EXPECT_THROW(enqueue("nope", 1), pgqrs::QueueNotFoundError);
  make_queue("real");
  EXPECT_THROW(dequeue("nope", 1, make_worker("c", "real")), pgqrs::QueueNotFoundError);
  EXPECT_THROW(be().list_messages("nope", 10, true), pgqrs::QueueNotFoundError);
  EXPECT_THROW(be().dead_letters("nope", kT0, 5), pgqrs::QueueNotFoundError);
  EXPECT_THROW(make_worker("w", "nope"), pgqrs::QueueNotFoundError);
  EXPECT_THROW(be().list_workers("nope"), pgqrs::QueueNotFoundError);
  EXPECT_THROW(be().reclaim_zombies("nope", kT0, kT0), pgqrs::QueueNotFoundError);
  EXPECT_THROW(be().queue_metrics("nope", kT0, 5), pgqrs::QueueNotFoundError);
  EXPECT_THROW(be().worker_stats("nope", kT0), pgqrs::QueueNotFoundError);
}

// ---- enqueue / dequeue --------------------------------------------------------------------

TEST_P(BackendQueuesContract, EnqueueReturnsIdsInInputOrderAndStoresTheRows) {
  make_queue("q");
  const auto producer = make_worker("p", "q", WorkerKind::kProducer);
  EnqueueParams p;
  p.queue = "q";
  p.payloads = {R"({"a":1})", R"([1,2,3])", R"("text")", R"({"nested":{"x":[true,null]}})"};
  p.visible_at = kT0 + 5s;
  p.now = kT0;
  p.producer_worker_id = producer;
  const auto ids = be().enqueue(p);
  ASSERT_EQ(ids.size(), 4U);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));

  const auto m = be().get_message(ids[3]);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payload, pgqrs::json::parse(p.payloads[3]));
  EXPECT_EQ(m->queue_id, be().find_queue("q")->id);
  EXPECT_EQ(m->vt, kT0 + 5s);
  EXPECT_EQ(m->enqueued_at, kT0);
  EXPECT_EQ(m->read_ct, 0);
  EXPECT_EQ(m->producer_worker_id, producer);
  EXPECT_FALSE(m->consumer_worker_id.has_value());
  EXPECT_FALSE(m->dequeued_at.has_value());
  EXPECT_FALSE(m->archived_at.has_value());
  EXPECT_FALSE(m->dead_at.has_value());
  EXPECT_EQ(be().get_message(ids[1])->payload, pgqrs::json::array({1, 2, 3}));
  EXPECT_FALSE(be().get_message(ids[3] + 100).has_value());
}

TEST_P(BackendQueuesContract, EnqueueWithUnknownProducerInsertsNothing) {
  make_queue("q");
  EnqueueParams p;
  p.queue = "q";
  p.payloads = {"1", "2"};
  p.visible_at = p.now = kT0;
  p.producer_worker_id = 999;
  EXPECT_THROW(be().enqueue(p), pgqrs::WorkerNotFoundError);
  EXPECT_TRUE(be().list_messages("q", 10, true).empty());
}

TEST_P(BackendQueuesContract, DequeueLeasesOldestVisibleFirstAndSetsLeaseFields) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto late = enqueue("q", 1, kT0 - 1s);    // visible earlier despite the higher id
  const auto early = enqueue("q", 1, kT0 - 10s);  // the oldest visible
  const auto same = enqueue("q", 2, kT0 - 1s);    // ties on vt are ordered by id
  const auto future = enqueue("q", 1, kT0 + 1h);  // not visible yet

  const auto got = dequeue("q", 10, c, kT0, 45s);
  ASSERT_EQ(got.size(), 4U);
  EXPECT_EQ(IdsOf(got), (std::vector<std::int64_t>{early[0], late[0], same[0], same[1]}));
  for (const auto& m : got) {
    EXPECT_EQ(m.vt, kT0 + 45s);
    EXPECT_EQ(m.read_ct, 1);
    EXPECT_EQ(m.dequeued_at, kT0);
    EXPECT_EQ(m.consumer_worker_id, c);
    EXPECT_TRUE(m.payload.contains("n"));
  }
  // The stored rows agree with what dequeue returned.
  const auto stored = be().get_message(got[0].id);
  EXPECT_EQ(stored->vt, got[0].vt);
  EXPECT_EQ(stored->read_ct, 1);
  EXPECT_EQ(stored->consumer_worker_id, c);
  EXPECT_EQ(stored->dequeued_at, kT0);

  EXPECT_TRUE(dequeue("q", 10, c, kT0 + 10s).empty());  // all leased or delayed
  ASSERT_EQ(be().archive(IdsOf(got), c, kT0 + 10s), std::vector<bool>(4, true));
  EXPECT_EQ(IdsOf(dequeue("q", 10, c, kT0 + 1h)), future);
}

TEST_P(BackendQueuesContract, DequeueRespectsTheLimit) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 5);
  EXPECT_TRUE(dequeue("q", 0, c).empty());
  EXPECT_EQ(IdsOf(dequeue("q", 2, c)), (std::vector<std::int64_t>{ids[0], ids[1]}));
  EXPECT_EQ(IdsOf(dequeue("q", 2, c)), (std::vector<std::int64_t>{ids[2], ids[3]}));
  EXPECT_EQ(IdsOf(dequeue("q", 2, c)), (std::vector<std::int64_t>{ids[4]}));
}

TEST_P(BackendQueuesContract, LeaseExpiryRedeliversToAnotherConsumer) {
  make_queue("q");
  const auto a = make_worker("a", "q");
  const auto b = make_worker("b", "q");
  const auto ids = enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, a, kT0, 30s).size(), 1U);
  EXPECT_TRUE(dequeue("q", 1, b, kT0 + 29s).empty());
  const auto again = dequeue("q", 1, b, kT0 + 30s, 30s);  // vt <= now: deliverable again
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].id, ids[0]);
  EXPECT_EQ(again[0].read_ct, 2);
  EXPECT_EQ(again[0].consumer_worker_id, b);
  // The previous holder lost ownership.
  EXPECT_EQ(be().archive({ids[0]}, a, kT0 + 31s), std::vector<bool>{false});
  EXPECT_EQ(be().archive({ids[0]}, b, kT0 + 31s), std::vector<bool>{true});
}

TEST_P(BackendQueuesContract, AStoppedConsumerCannotLease) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  enqueue("q", 1);
  ASSERT_TRUE(
      be().change_worker_status(c, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  EXPECT_THROW(dequeue("q", 1, c), pgqrs::StateTransitionError);
  EXPECT_EQ(be().queue_metrics("q", kT0, 5).pending, 1U);
}

TEST_P(BackendQueuesContract, DequeueWithUnknownConsumerIsWorkerNotFound) {
  make_queue("q");
  enqueue("q", 1);
  EXPECT_THROW(dequeue("q", 1, 12345), pgqrs::WorkerNotFoundError);
  EXPECT_THROW(dequeue("q", 0, 12345), pgqrs::WorkerNotFoundError);  // also when nothing to lease
  EXPECT_EQ(be().get_message(be().list_messages("q", 1, true)[0].id)->read_ct, 0);
}

}  // namespace
}  // namespace pgqrs_test
