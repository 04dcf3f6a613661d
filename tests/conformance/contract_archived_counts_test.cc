// Backend contract, the per-queue archived counter (W8, schema step "per-queue archived
// counters") on every backend: queue_metrics().archived equals the number of the queue's
// archived rows after each path that changes it — archive, archive_and_dequeue, retention
// pruning of archived rows (and not of dead letters), purge, delete and re-create — and one
// queue's archiving never moves another's count. Time is injected (kT0 + offsets).
#include <string>
#include <vector>

#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {
namespace {

class BackendArchivedCountsContract : public BackendContractTest {
 protected:
  // The queue's archived rows, counted the slow way (every row), to check the counter against.
  std::uint64_t archived_rows(const std::string& queue) {
    std::uint64_t n = 0;
    for (const auto& m : be().list_messages(queue, 100000, /*include_archived=*/true)) {
      if (m.archived_at) ++n;
    }
    return n;
  }
  std::uint64_t counted(const std::string& queue) {
    return be().queue_metrics(queue, kT0 + 1h, 5).archived;
  }
  void expect_counter_matches(const std::string& queue, std::uint64_t expected) {
    EXPECT_EQ(archived_rows(queue), expected);
    EXPECT_EQ(counted(queue), expected);
    for (const auto& m : be().all_queue_metrics(kT0 + 1h, 5)) {
      if (m.queue_name == queue) {
        EXPECT_EQ(m.archived, expected);
      }
    }
  }
};
PGQRS_INSTANTIATE_CONFORMANCE(BackendArchivedCountsContract);

std::vector<std::int64_t> ids_of(const std::vector<QueueMessage>& msgs) {
  std::vector<std::int64_t> out;
  for (const auto& m : msgs) out.push_back(m.id);
  return out;
}

TEST_P(BackendArchivedCountsContract, EveryArchivePathCountsOnlyWhatItArchived) {
  make_queue("q");
  make_queue("other");
  const auto a = make_worker("a", "q");
  const auto b = make_worker("b", "q");  // another stripe on Postgres
  enqueue("q", 10);
  enqueue("other", 2);
  const auto leased = ids_of(dequeue("q", 4, a));
  ASSERT_EQ(leased.size(), 4U);
  // A batch with a repeated id and an unknown id: only the two real ones count.
  EXPECT_EQ(be().archive({leased[0], leased[1], leased[1], 987654}, a, kT0 + 1s),
            (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(be().archive({leased[2]}, b, kT0 + 1s), std::vector<bool>{false});  // not b's
  expect_counter_matches("q", 2);

  pgqrs::backend::DequeueParams p;
  p.queue = "q";
  p.limit = 3;
  p.lease = 30s;
  p.consumer_worker_id = a;
  p.now = kT0 + 2s;
  const auto step = be().archive_and_dequeue({leased[2], leased[3]}, p);
  EXPECT_EQ(step.archived, (std::vector<bool>{true, true}));
  ASSERT_EQ(step.leased.size(), 3U);
  expect_counter_matches("q", 4);

  const auto by_b = ids_of(dequeue("q", 3, b, kT0 + 3s));
  ASSERT_EQ(by_b.size(), 3U);
  EXPECT_EQ(be().archive(by_b, b, kT0 + 4s), (std::vector<bool>{true, true, true}));
  expect_counter_matches("q", 7);
  expect_counter_matches("other", 0);
}

// A queue with limits takes another lease path on Postgres (pgqrs_lease_limited, which also
// archives the previous batch): it counts the same.
TEST_P(BackendArchivedCountsContract, ALimitedQueuesArchiveAndLeaseStepCountsToo) {
  pgqrs::QueueOptions limited;
  limited.concurrency = 5;
  be().create_queue("lim", kT0, limited);
  const auto w = make_worker("w", "lim");
  enqueue("lim", 6);
  pgqrs::backend::DequeueParams p;
  p.queue = "lim";
  p.limit = 3;
  p.lease = 30s;
  p.consumer_worker_id = w;
  p.now = kT0 + 1s;
  const auto first = be().archive_and_dequeue({}, p);
  ASSERT_EQ(first.leased.size(), 3U);
  p.now = kT0 + 2s;
  const auto second = be().archive_and_dequeue(ids_of(first.leased), p);
  EXPECT_EQ(second.archived, (std::vector<bool>{true, true, true}));
  ASSERT_EQ(second.leased.size(), 3U);
  expect_counter_matches("lim", 3);
  EXPECT_EQ(be().archive(ids_of(second.leased), w, kT0 + 3s),
            (std::vector<bool>{true, true, true}));
  expect_counter_matches("lim", 6);
}

TEST_P(BackendArchivedCountsContract, PruneAndPurgeTakeArchivedRowsOffTheCounter) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  enqueue("q", 6);
  const auto leased = ids_of(dequeue("q", 6, w));
  ASSERT_EQ(leased.size(), 6U);
  be().archive({leased[0], leased[1], leased[2], leased[3]}, w, kT0 + 1s);
  // A dead letter: pruning dead letters must not touch the archived count.
  be().release({leased[4]}, w, kT0 + 1s, kT0 + 1s, /*max_read_ct=*/1);
  expect_counter_matches("q", 4);

  using pgqrs::backend::PruneKind;
  EXPECT_EQ(be().delete_old(PruneKind::kDead, "q", kT0 + 1h, kT0 + 1h, 10), 1U);
  expect_counter_matches("q", 4);
  EXPECT_EQ(be().delete_old(PruneKind::kArchived, "q", kT0 + 1h, kT0 + 1h, 3), 3U);
  expect_counter_matches("q", 1);

  EXPECT_EQ(be().purge_queue("q"), 2U);  // one archived, one leased
  expect_counter_matches("q", 0);
  be().archive({leased[5]}, w, kT0 + 2s);  // gone with the purge: nothing to count
  expect_counter_matches("q", 0);
}

TEST_P(BackendArchivedCountsContract, ARecreatedQueueStartsFromZero) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  enqueue("q", 2);
  be().archive(ids_of(dequeue("q", 2, w)), w, kT0 + 1s);
  expect_counter_matches("q", 2);
  be().purge_queue("q");
  ASSERT_TRUE(
      be().change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  be().delete_queue("q");
  make_queue("q");
  expect_counter_matches("q", 0);
}

}  // namespace
}  // namespace pgqrs_test
