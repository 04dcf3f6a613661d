// The schema step "held leases out of the dequeue indexes" (issues 14 and 17; decision P10):
// upgrading a database from the step before it, with messages pending, prioritised, held and
// archived in it, keeps every row and every lease; after the upgrade a lease that expires is
// delivered again in delivery order (priority, vt, id), on an unlimited queue and on a queue
// with a concurrency limit, and the metrics count what is held. On every backend (the
// SQLite-family step changes nothing, and must still upgrade cleanly).
#include <string>
#include <vector>

#include "conformance/upgrade_test_support.h"

namespace pgqrs_test {
namespace {

using pgqrs::MessageOptions;
using pgqrs::QueueOptions;

class BackendHeldLeasesUpgrade : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendHeldLeasesUpgrade);

std::vector<std::int64_t> ids_of(const std::vector<QueueMessage>& messages) {
  std::vector<std::int64_t> ids;
  for (const auto& m : messages) ids.push_back(m.id);
  return ids;
}

TEST_P(BackendHeldLeasesUpgrade, ExpiredLeasesTakenBeforeTheUpgradeAreDeliveredAgainInOrder) {
  const std::int32_t previous = schema_step_version("held leases") - 1;
  Backend& b = OpenFresh(/*install=*/false);
  b.install_to(previous);
  ASSERT_EQ(b.schema_version(), previous);

  // Before: m0..m3 with priorities 0, 5, -1, 0; w1 leases two (m2, then m0) and archives m2.
  // A queue with concurrency 1 whose only slot w1 holds.
  b.create_queue("plain", kT0);
  QueueOptions one_at_a_time;
  one_at_a_time.concurrency = 1;
  b.create_queue("limited", kT0, one_at_a_time);
  const auto w1 = b.register_worker("w1", WorkerKind::kConsumer, "plain", "h", 1, kT0).id;
  const auto w2 = b.register_worker("w2", WorkerKind::kConsumer, "plain", "h", 2, kT0).id;
  EnqueueParams e;
  e.queue = "plain";
  e.payloads = {R"({"n":0})", R"({"n":1})", R"({"n":2})", R"({"n":3})"};
  const auto priority = [](std::int32_t p) {
    return MessageOptions{p, std::nullopt, std::nullopt};
  };
  e.flow = {priority(0), priority(5), priority(-1), priority(0)};
  e.visible_at = kT0;
  e.now = kT0;
  const auto m = b.enqueue(e);
  e.queue = "limited";
  e.payloads = {R"({"l":0})", R"({"l":1})"};
  e.flow = {};
  const auto l = b.enqueue(e);
  ASSERT_EQ(ids_of(b.dequeue(lease_params("plain", w1, 2, kT0))),
            (std::vector<std::int64_t>{m[2], m[0]}));
  ASSERT_EQ(b.archive({m[2]}, w1, kT0 + 1s), std::vector<bool>{true});
  ASSERT_EQ(ids_of(b.dequeue(lease_params("limited", w1, 5, kT0))),
            std::vector<std::int64_t>{l[0]});

  b.install();
  EXPECT_EQ(b.schema_version(), pgqrs::backend::kSchemaVersion);

  // Every row as it was; the leases are still w1's.
  const auto held = b.get_message(m[0]);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->consumer_worker_id, w1);
  EXPECT_EQ(held->vt, kT0 + 30s);
  EXPECT_EQ(b.get_message(m[2])->archived_at, kT0 + 1s);
  EXPECT_EQ(b.get_message(l[0])->consumer_worker_id, w1);
  const auto metrics = b.queue_metrics("plain", kT0 + 2s, 5);
  EXPECT_EQ(metrics.leased, 1u);
  EXPECT_EQ(metrics.pending, 2u);
  EXPECT_EQ(metrics.archived, 1u);

  // While held: w2 gets only what nobody holds, in order; the limited queue's slot is taken.
  EXPECT_EQ(ids_of(b.dequeue(lease_params("plain", w2, 1, kT0 + 2s))),
            std::vector<std::int64_t>{m[3]});
  EXPECT_TRUE(b.dequeue(lease_params("limited", w2, 5, kT0 + 2s)).empty());

  // Once w1's leases expire: m0 (priority 0, vt T0+30s) comes before m1 (priority 5). On the
  // limited queue the slot is free again and l1 (vt T0) comes before the expired l0.
  const auto again = b.dequeue(lease_params("plain", w2, 10, kT0 + 31s));
  EXPECT_EQ(ids_of(again), (std::vector<std::int64_t>{m[0], m[1]}));
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].read_ct, 2);
  EXPECT_EQ(ids_of(b.dequeue(lease_params("limited", w2, 5, kT0 + 31s))),
            std::vector<std::int64_t>{l[1]});
  EXPECT_TRUE(b.dequeue(lease_params("limited", w2, 5, kT0 + 31s)).empty());

  // w1 lost its leases: its acknowledgements are refused; w2's go through, which frees the
  // limited queue's slot for the expired l0.
  EXPECT_EQ(b.archive({m[0], l[0]}, w1, kT0 + 32s), (std::vector<bool>{false, false}));
  EXPECT_EQ(b.archive({m[0], m[1], l[1]}, w2, kT0 + 32s), (std::vector<bool>{true, true, true}));
  const auto last = b.dequeue(lease_params("limited", w2, 5, kT0 + 33s));
  EXPECT_EQ(ids_of(last), std::vector<std::int64_t>{l[0]});
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(last[0].consumer_worker_id, w2);
  // m3's lease (w2's, taken at T0+2s) has expired too: it counts as pending again.
  const auto after = b.queue_metrics("plain", kT0 + 33s, 5);
  EXPECT_EQ(after.leased, 0u);
  EXPECT_EQ(after.pending, 1u);
  EXPECT_EQ(after.archived, 3u);
}

}  // namespace
}  // namespace pgqrs_test
