// Backend contract (src/backend/backend.h) on every backend: the owner-only operations
// (archive, remove, set_lease, release) and dead-lettering at max_read_ct, replay and
// listing. Time is injected (kT0 + offsets), never slept.
#include <optional>
#include <string>
#include <vector>

#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {
namespace {

class BackendLeasesContract : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendLeasesContract);

// ---- owner-only operations ----------------------------------------------------------------

TEST_P(BackendLeasesContract, OwnerOnlyOperationsRefuseOtherWorkers) {
  make_queue("q");
  const auto owner = make_worker("owner", "q");
  const auto other = make_worker("other", "q");
  const auto ids = enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, owner, kT0, 60s).size(), 1U);
  const TimePoint now = kT0 + 1s;
  EXPECT_EQ(be().archive(ids, other, now), std::vector<bool>{false});
  EXPECT_EQ(be().remove(ids, other, now), std::vector<bool>{false});
  EXPECT_EQ(be().set_lease(ids, other, now + 1h, now), std::vector<bool>{false});
  EXPECT_EQ(be().release(ids, other, now, now, 5), std::vector<bool>{false});
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->consumer_worker_id, owner);
  EXPECT_EQ(m->vt, kT0 + 60s);
  EXPECT_FALSE(m->archived_at.has_value());
}

TEST_P(BackendLeasesContract, OwnerOnlyOperationsRefuseAnExpiredLease) {
  make_queue("q");
  const auto owner = make_worker("owner", "q");
  const auto ids = enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, owner, kT0, 30s).size(), 1U);
  const TimePoint expired = kT0 + 30s;  // vt == now: the lease is over
  EXPECT_EQ(be().archive(ids, owner, expired), std::vector<bool>{false});
  EXPECT_EQ(be().remove(ids, owner, expired), std::vector<bool>{false});
  EXPECT_EQ(be().set_lease(ids, owner, expired + 1h, expired), std::vector<bool>{false});
  EXPECT_EQ(be().release(ids, owner, expired, expired, 5), std::vector<bool>{false});
  EXPECT_TRUE(be().get_message(ids[0]).has_value());
}

TEST_P(BackendLeasesContract, BatchOperationsReportOneFlagPerIdInInputOrder) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 3);
  ASSERT_EQ(dequeue("q", 2, c).size(), 2U);  // ids[0], ids[1] leased; ids[2] not
  const std::vector<std::int64_t> batch{ids[2], ids[1], 987654, ids[0], ids[1]};
  EXPECT_EQ(be().archive(batch, c, kT0 + 1s),
            (std::vector<bool>{false, true, false, true, false}));  // second ids[1]: done
  EXPECT_TRUE(be().get_message(ids[0])->archived_at.has_value());
  EXPECT_EQ(*be().get_message(ids[1])->archived_at, kT0 + 1s);
  EXPECT_FALSE(be().get_message(ids[2])->archived_at.has_value());
  EXPECT_TRUE(be().archive({}, c, kT0).empty());
}

TEST_P(BackendLeasesContract, RemoveDeletesTheRow) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 2);
  ASSERT_EQ(dequeue("q", 2, c).size(), 2U);
  EXPECT_EQ(be().remove(ids, c, kT0 + 1s), (std::vector<bool>{true, true}));
  EXPECT_FALSE(be().get_message(ids[0]).has_value());
  EXPECT_TRUE(be().list_messages("q", 10, true).empty());
}

TEST_P(BackendLeasesContract, SetLeaseExtendsTheLease) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, c, kT0, 30s).size(), 1U);
  EXPECT_EQ(be().set_lease(ids, c, kT0 + 10min, kT0 + 20s), std::vector<bool>{true});
  EXPECT_EQ(be().get_message(ids[0])->vt, kT0 + 10min);
  EXPECT_TRUE(dequeue("q", 1, c, kT0 + 5min).empty());
  EXPECT_EQ(be().archive(ids, c, kT0 + 5min), std::vector<bool>{true});
}

TEST_P(BackendLeasesContract, ReleaseMakesTheMessageVisibleAtTheGivenTime) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, c).size(), 1U);
  EXPECT_EQ(be().release(ids, c, kT0 + 2min, kT0 + 1s, 5), std::vector<bool>{true});
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->vt, kT0 + 2min);
  EXPECT_FALSE(m->consumer_worker_id.has_value());
  EXPECT_FALSE(m->dead_at.has_value());
  EXPECT_TRUE(dequeue("q", 1, c, kT0 + 1min).empty());
  EXPECT_EQ(dequeue("q", 1, c, kT0 + 2min).size(), 1U);
}

// ---- dead letters -------------------------------------------------------------------------

TEST_P(BackendLeasesContract, ReleasingAfterMaxDeliveriesDeadLetters) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 1);
  constexpr std::int32_t kMax = 2;
  ASSERT_EQ(dequeue("q", 1, c, kT0, 30s, kMax).size(), 1U);
  EXPECT_EQ(be().release(ids, c, kT0, kT0, kMax), std::vector<bool>{true});
  EXPECT_FALSE(be().get_message(ids[0])->dead_at.has_value());
  ASSERT_EQ(dequeue("q", 1, c, kT0, 30s, kMax).size(), 1U);
  EXPECT_EQ(be().release(ids, c, kT0, kT0 + 1s, kMax), std::vector<bool>{true});  // applied
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->dead_at, kT0 + 1s);
  EXPECT_FALSE(m->consumer_worker_id.has_value());

  EXPECT_TRUE(dequeue("q", 1, c, kT0 + 1h, 30s, kMax).empty());
  EXPECT_EQ(IdsOf(be().dead_letters("q", kT0 + 1h, kMax)), ids);
  EXPECT_EQ(IdsOf(be().dead_letters(std::nullopt, kT0 + 1h, kMax)), ids);
}

TEST_P(BackendLeasesContract, LeaseExpiryAfterMaxDeliveriesDeadLetters) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 1);
  const auto fresh = enqueue("q", 1, kT0 + 1s);
  ASSERT_EQ(dequeue("q", 1, c, kT0, 30s, /*max_read_ct=*/1).size(), 1U);
  // Expired lease, delivered max_read_ct times: a dead letter even before it is marked.
  EXPECT_EQ(IdsOf(be().dead_letters("q", kT0 + 30s, 1)), ids);
  EXPECT_TRUE(be().dead_letters("q", kT0 + 29s, 1).empty());

  // The next dequeue that reaches it marks it dead and delivers the next one instead.
  EXPECT_EQ(IdsOf(dequeue("q", 1, c, kT0 + 40s, 30s, 1)), fresh);
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->dead_at, kT0 + 40s);
  EXPECT_EQ(m->read_ct, 1);
  EXPECT_EQ(IdsOf(be().dead_letters("q", kT0 + 40s, 1)), ids);
}

TEST_P(BackendLeasesContract, ReplayMakesADeadLetterFreshAgain) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 2);
  ASSERT_EQ(dequeue("q", 1, c, kT0, 30s, 1).size(), 1U);
  ASSERT_EQ(be().release({ids[0]}, c, kT0, kT0, 1), std::vector<bool>{true});  // dead
  EXPECT_FALSE(be().replay_dead_letter(ids[1], kT0, 1));                       // not a dead letter
  EXPECT_FALSE(be().replay_dead_letter(424242, kT0, 1));
  EXPECT_TRUE(be().replay_dead_letter(ids[0], kT0 + 5s, 1));
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->read_ct, 0);
  EXPECT_EQ(m->vt, kT0 + 5s);
  EXPECT_FALSE(m->dead_at.has_value());
  EXPECT_FALSE(m->consumer_worker_id.has_value());
  EXPECT_TRUE(be().dead_letters("q", kT0 + 5s, 1).empty());
  EXPECT_EQ(IdsOf(dequeue("q", 2, c, kT0 + 5s, 30s, 1)),
            (std::vector<std::int64_t>{ids[1], ids[0]}));
}

TEST_P(BackendLeasesContract, ListMessagesIsNewestFirstAndCanHideArchived) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 3);
  ASSERT_EQ(dequeue("q", 1, c).size(), 1U);
  ASSERT_EQ(be().archive({ids[0]}, c, kT0), std::vector<bool>{true});
  EXPECT_EQ(IdsOf(be().list_messages("q", 10, true)),
            (std::vector<std::int64_t>{ids[2], ids[1], ids[0]}));
  EXPECT_EQ(IdsOf(be().list_messages("q", 10, false)), (std::vector<std::int64_t>{ids[2], ids[1]}));
  EXPECT_EQ(IdsOf(be().list_messages("q", 1, true)), (std::vector<std::int64_t>{ids[2]}));
}

}  // namespace
}  // namespace pgqrs_test
