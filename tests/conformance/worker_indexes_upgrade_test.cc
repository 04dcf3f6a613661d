// The schema step "no whole-history worker indexes on messages" (issue 17; decision P11):
// upgrading a database from the step before it, with messages produced, held, archived and
// held in another queue than the consumer's own, keeps every row; after the upgrade a worker's
// leases are still found (listed, released, reclaimed from a zombie, in every queue), and a
// worker named by any message, archived ones included, is still neither deleted nor purged.
// On every backend (the SQLite-family step changes nothing, and must still upgrade cleanly).
#include <string>
#include <vector>

#include "conformance/upgrade_test_support.h"

namespace pgqrs_test {
namespace {

class BackendWorkerIndexesUpgrade : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendWorkerIndexesUpgrade);

TEST_P(BackendWorkerIndexesUpgrade, WorkersAreFoundThroughTheirLeasesAndHistoryAfterTheUpgrade) {
  const std::int32_t previous = schema_step_version("worker indexes") - 1;
  Backend& b = OpenFresh(/*install=*/false);
  b.install_to(previous);
  ASSERT_EQ(b.schema_version(), previous);

  // Before: producer p enqueues j0..j3 into "jobs"; consumer c leases j0, j1 and archives j0;
  // consumer z leases j2 (and will stop heart-beating); c also leases x0 of queue "other".
  // Worker idle never touches a message.
  b.create_queue("jobs", kT0);
  b.create_queue("other", kT0);
  const auto p = b.register_worker("p", WorkerKind::kProducer, "jobs", "h", 1, kT0).id;
  const auto c = b.register_worker("c", WorkerKind::kConsumer, "jobs", "h", 2, kT0).id;
  const auto z = b.register_worker("z", WorkerKind::kConsumer, "jobs", "h", 3, kT0).id;
  const auto idle = b.register_worker("idle", WorkerKind::kConsumer, "jobs", "h", 4, kT0).id;
  EnqueueParams e;
  e.queue = "jobs";
  e.payloads = {R"({"j":0})", R"({"j":1})", R"({"j":2})", R"({"j":3})"};
  e.visible_at = kT0;
  e.now = kT0;
  e.producer_worker_id = p;
  const auto j = b.enqueue(e);
  e.queue = "other";
  e.payloads = {R"({"x":0})"};
  e.producer_worker_id.reset();
  const auto x = b.enqueue(e);
  ASSERT_EQ(IdsOf(b.dequeue(lease_params("jobs", c, 2, kT0))),
            (std::vector<std::int64_t>{j[0], j[1]}));
  ASSERT_EQ(b.archive({j[0]}, c, kT0 + 1s), std::vector<bool>{true});
  ASSERT_EQ(IdsOf(b.dequeue(lease_params("jobs", z, 1, kT0))), std::vector<std::int64_t>{j[2]});
  ASSERT_EQ(IdsOf(b.dequeue(lease_params("other", c, 1, kT0))), std::vector<std::int64_t>{x[0]});
  ASSERT_TRUE(b.heartbeat(c, kT0 + 5s));
  ASSERT_TRUE(b.heartbeat(p, kT0 + 5s));
  ASSERT_TRUE(b.heartbeat(idle, kT0 + 5s));

  b.install();
  EXPECT_EQ(b.schema_version(), pgqrs::backend::kSchemaVersion);

  // Every row as it was.
  EXPECT_EQ(b.get_message(j[3])->producer_worker_id, p);
  EXPECT_EQ(b.get_message(j[0])->archived_at, kT0 + 1s);
  EXPECT_EQ(b.get_message(j[0])->consumer_worker_id, c);
  EXPECT_EQ(b.get_message(x[0])->consumer_worker_id, c);

  // c's leases, in both queues, in lease order (vt, id); none once they expire.
  EXPECT_EQ(IdsOf(b.leased_messages(c, kT0 + 2s)), (std::vector<std::int64_t>{j[1], x[0]}));
  EXPECT_TRUE(b.leased_messages(c, kT0 + 31s).empty());

  // z stopped heart-beating: reclaiming it frees j2 (and only j2) and stops z.
  EXPECT_EQ(b.reclaim_zombies("jobs", kT0 + 3s, kT0 + 4s), 1u);
  EXPECT_EQ(b.get_worker(z)->status, WorkerStatus::kStopped);
  EXPECT_FALSE(b.get_message(j[2])->consumer_worker_id.has_value());
  EXPECT_EQ(IdsOf(b.leased_messages(c, kT0 + 4s)), (std::vector<std::int64_t>{j[1], x[0]}));

  // c releases its leases on shutdown: both queues' messages are deliverable again.
  EXPECT_EQ(b.release_worker_messages(c, kT0 + 6s), 2u);
  EXPECT_TRUE(b.leased_messages(c, kT0 + 6s).empty());
  EXPECT_FALSE(b.get_message(x[0])->consumer_worker_id.has_value());

  // Stopped: p (named by j0..j3 as producer), c (named by the archived j0 as consumer), z
  // (named by nothing since its lease was reclaimed) and idle. Deleting p or c is refused,
  // with the count of messages naming each; the purge takes z and idle only.
  for (const auto w : {p, c, idle}) {
    ASSERT_TRUE(b.change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0 + 7s)
                    .applied);
  }
  const auto refused_p =
      ExpectThrowMessage<pgqrs::ConflictError>([&] { b.delete_worker(p); }, "delete p");
  EXPECT_NE(refused_p.find(": 4 message(s)"), std::string::npos) << refused_p;
  const auto refused_c =
      ExpectThrowMessage<pgqrs::ConflictError>([&] { b.delete_worker(c); }, "delete c");
  EXPECT_NE(refused_c.find(": 1 message(s)"), std::string::npos) << refused_c;
  EXPECT_EQ(b.purge_workers(kT0 + 1h), 2u);
  EXPECT_FALSE(b.get_worker(z).has_value());
  EXPECT_FALSE(b.get_worker(idle).has_value());
  EXPECT_TRUE(b.get_worker(p).has_value());
  EXPECT_TRUE(b.get_worker(c).has_value());

  // Once the message naming c is gone (its queue purged), c is deleted.
  EXPECT_EQ(b.purge_queue("jobs"), 4u);
  b.delete_worker(c);
  EXPECT_FALSE(b.get_worker(c).has_value());
}

}  // namespace
}  // namespace pgqrs_test
