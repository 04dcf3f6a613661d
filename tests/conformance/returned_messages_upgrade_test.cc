// The schema step "the dead sweep reads only returned messages" (issue 17; decision P12):
// upgrading a database from the step before it, with a message whose lease expired after its
// last allowed delivery, one returned to the queue (released on shutdown) after its last
// allowed delivery, one returned before it and a fresh one, keeps every row; after the
// upgrade the metrics count the spent ones as dead, the next dequeue dead-letters both spent
// messages and leases the other two, and the metrics follow. On every backend (the
// SQLite-family step changes nothing, and must still upgrade cleanly).
#include <string>
#include <vector>

#include "conformance/upgrade_test_support.h"

namespace pgqrs_test {
namespace {

class BackendReturnedMessagesUpgrade : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendReturnedMessagesUpgrade);

// lease_params with max_read_ct 2: a message is delivered at most twice.
DequeueParams twice(const std::string& queue, std::int64_t worker, std::uint32_t limit,
                    TimePoint now) {
  DequeueParams p = lease_params(queue, worker, limit, now);
  p.max_read_ct = 2;
  return p;
}

TEST_P(BackendReturnedMessagesUpgrade, SpentMessagesAreDeadLetteredAfterTheUpgrade) {
  const std::int32_t previous = schema_step_version("returned messages") - 1;
  Backend& b = OpenFresh(/*install=*/false);
  b.install_to(previous);
  ASSERT_EQ(b.schema_version(), previous);

  // Before: c and r each lease one message twice (the first lease expires): m0 stays held by c
  // with its second lease running, m1 is delivered a second time to r. r then leases m2 (its
  // first delivery) and releases m1 and m2 on shutdown. m3 is enqueued last, never leased.
  b.create_queue("jobs", kT0);
  const auto c = b.register_worker("c", WorkerKind::kConsumer, "jobs", "h", 1, kT0).id;
  const auto r = b.register_worker("r", WorkerKind::kConsumer, "jobs", "h", 2, kT0).id;
  EnqueueParams e;
  e.queue = "jobs";
  e.payloads = {R"({"m":0})", R"({"m":1})"};
  e.visible_at = kT0;
  e.now = kT0;
  const auto m01 = b.enqueue(e);
  ASSERT_EQ(IdsOf(b.dequeue(twice("jobs", c, 1, kT0))), std::vector<std::int64_t>{m01[0]});
  ASSERT_EQ(IdsOf(b.dequeue(twice("jobs", r, 1, kT0))), std::vector<std::int64_t>{m01[1]});
  ASSERT_EQ(IdsOf(b.dequeue(twice("jobs", c, 1, kT0 + 31s))), std::vector<std::int64_t>{m01[0]});
  ASSERT_EQ(IdsOf(b.dequeue(twice("jobs", r, 1, kT0 + 31s))), std::vector<std::int64_t>{m01[1]});
  e.payloads = {R"({"m":2})"};
  e.visible_at = e.now = kT0 + 31s;
  const auto m2 = b.enqueue(e).at(0);
  ASSERT_EQ(IdsOf(b.dequeue(twice("jobs", r, 1, kT0 + 32s))), std::vector<std::int64_t>{m2});
  ASSERT_EQ(b.release_worker_messages(r, kT0 + 33s), 2u);
  e.payloads = {R"({"m":3})"};
  e.visible_at = e.now = kT0 + 33s;
  const auto m3 = b.enqueue(e).at(0);

  b.install();
  EXPECT_EQ(b.schema_version(), pgqrs::backend::kSchemaVersion);

  // Every row as it was.
  EXPECT_EQ(b.get_message(m01[0])->read_ct, 2);
  EXPECT_EQ(b.get_message(m01[0])->consumer_worker_id, c);
  EXPECT_EQ(b.get_message(m01[1])->read_ct, 2);
  EXPECT_FALSE(b.get_message(m01[1])->consumer_worker_id.has_value());
  EXPECT_EQ(b.get_message(m2)->read_ct, 1);

  // At T0 + 70s m0's second lease has expired: m0 and m1 are dead letters by definition
  // (not marked yet), m2 and m3 are pending.
  const TimePoint later = kT0 + 70s;
  const pgqrs::QueueMetrics before = b.queue_metrics("jobs", later, 2);
  EXPECT_EQ(before.dead, 2u);
  EXPECT_EQ(before.pending, 2u);
  EXPECT_EQ(before.leased, 0u);
  EXPECT_EQ(IdsOf(b.dead_letters("jobs", later, 2)), (std::vector<std::int64_t>{m01[1], m01[0]}));

  // The next dequeue marks both dead and leases the other two, in delivery order.
  EXPECT_EQ(IdsOf(b.dequeue(twice("jobs", c, 5, later))), (std::vector<std::int64_t>{m2, m3}));
  for (const auto id : m01) {
    EXPECT_EQ(b.get_message(id)->dead_at, later) << id;
    EXPECT_FALSE(b.get_message(id)->consumer_worker_id.has_value()) << id;
  }
  const pgqrs::QueueMetrics after = b.queue_metrics("jobs", later, 2);
  EXPECT_EQ(after.dead, 2u);
  EXPECT_EQ(after.pending, 0u);
  EXPECT_EQ(after.leased, 2u);

  // Released again: m2 has now had its two deliveries (r's, then c's), m3 one. The next
  // dequeue dead-letters m2 (a returned message) and delivers m3 a second time; once that
  // lease expires, m3 is swept too (an expired lease).
  EXPECT_EQ(b.release_worker_messages(c, later + 1s), 2u);
  EXPECT_EQ(IdsOf(b.dequeue(twice("jobs", c, 5, later + 2s))), std::vector<std::int64_t>{m3});
  EXPECT_EQ(b.get_message(m2)->dead_at, later + 2s);
  EXPECT_TRUE(b.dequeue(twice("jobs", c, 5, later + 40s)).empty());
  EXPECT_EQ(b.queue_metrics("jobs", later + 40s, 2).dead, 4u);
  EXPECT_EQ(b.get_message(m3)->dead_at, later + 40s);
}

}  // namespace
}  // namespace pgqrs_test
