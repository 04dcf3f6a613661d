// SPEC §3: owner-only operations (archive, delete, extend_vt, release) report whether they
// applied, per id for the _many forms, and never throw for "not yours".
#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kUnknownId = 987654321;

class OwnerOpsTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    MakeQueue("q");
    owner_.emplace(pgqrs::consumer("owner", "q").create(store()));
    other_.emplace(pgqrs::consumer("other", "q").create(store()));
  }
  const pgqrs::Consumer& owner() const { return *owner_; }
  const pgqrs::Consumer& other() const { return *other_; }

  std::optional<pgqrs::Consumer> owner_;
  std::optional<pgqrs::Consumer> other_;
};

TEST_P(OwnerOpsTest, ArchiveByOwnerMarksArchivedAndStopsDelivery) {
  auto id = EnqueueNumbers("q", 1)[0];
  ASSERT_EQ(owner().dequeue(1).size(), 1u);
  Advance(3s);
  EXPECT_TRUE(owner().archive(id));
  pgqrs::QueueMessage m = admin().get_message(id);
  ASSERT_TRUE(m.archived_at.has_value());
  EXPECT_LE(std::abs(MillisBetween(*m.archived_at, now())), 1);
  EXPECT_EQ(admin().queue_metrics("q").archived, 1u);
  EXPECT_EQ(admin().queue_metrics("q").leased, 0u);
  Advance(1h);
  EXPECT_TRUE(other().dequeue(1).empty()) << "archived messages are never delivered again";
  EXPECT_FALSE(owner().archive(id)) << "archiving twice does not apply twice";
}

TEST_P(OwnerOpsTest, ArchivedMessageStillListedWhenIncludingArchived) {
  auto id = EnqueueNumbers("q", 1)[0];
  ASSERT_EQ(owner().dequeue(1).size(), 1u);
  ASSERT_TRUE(owner().archive(id));
  EXPECT_TRUE(admin().list_messages("q", 100, /*include_archived=*/false).empty());
  auto all = admin().list_messages("q", 100, /*include_archived=*/true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, id);
}

TEST_P(OwnerOpsTest, ListMessagesIsNewestFirstAndHonoursLimit) {
  auto ids = EnqueueNumbers("q", 5);
  auto listed = admin().list_messages("q", 3);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].id, ids[4]);
  EXPECT_EQ(listed[1].id, ids[3]);
  EXPECT_EQ(listed[2].id, ids[2]);
  EXPECT_THROW(admin().list_messages("nope"), pgqrs::QueueNotFoundError);
}

TEST_P(OwnerOpsTest, NonOwnerOpsReturnFalseAndChangeNothing) {
  auto id = EnqueueNumbers("q", 1)[0];
  ASSERT_EQ(owner().dequeue_with_vt(1, 30s).size(), 1u);
  const pgqrs::QueueMessage before = admin().get_message(id);

  EXPECT_FALSE(other().archive(id));
  EXPECT_FALSE(other().delete_message(id));
  EXPECT_FALSE(other().extend_vt(id, 600s));
  EXPECT_EQ(other().release_messages({id}), 0u);
  EXPECT_FALSE(other().release_with_visibility(id, now()));

  const pgqrs::QueueMessage after = admin().get_message(id);
  EXPECT_EQ(after.vt, before.vt);
  EXPECT_EQ(after.consumer_worker_id, owner().id());
  EXPECT_FALSE(after.archived_at.has_value());
  EXPECT_TRUE(other().dequeue(1).empty()) << "still leased by the owner";
  EXPECT_TRUE(owner().archive(id));
}

TEST_P(OwnerOpsTest, OpsOnUnknownIdsReturnFalse) {
  EXPECT_FALSE(owner().archive(kUnknownId));
  EXPECT_FALSE(owner().delete_message(kUnknownId));
  EXPECT_FALSE(owner().extend_vt(kUnknownId, 10s));
  EXPECT_EQ(owner().release_messages({kUnknownId}), 0u);
  EXPECT_FALSE(owner().release_with_visibility(kUnknownId, now()));
  EXPECT_EQ(owner().archive_many({kUnknownId, kUnknownId + 1}), (std::vector<bool>{false, false}));
  EXPECT_EQ(owner().delete_many({kUnknownId}), (std::vector<bool>{false}));
}

TEST_P(OwnerOpsTest, OpsOnUnleasedPendingMessageReturnFalse) {
  auto id = EnqueueNumbers("q", 1)[0];
  EXPECT_FALSE(owner().archive(id));
  EXPECT_FALSE(owner().delete_message(id));
  EXPECT_FALSE(owner().extend_vt(id, 10s));
  EXPECT_EQ(owner().release_messages({id}), 0u);
  EXPECT_EQ(admin().queue_metrics("q").pending, 1u);
}

TEST_P(OwnerOpsTest, ArchiveManyReturnsPerIdFlags) {
  auto ids = EnqueueNumbers("q", 3);
  ASSERT_EQ(owner().dequeue(2).size(), 2u);  // ids[0], ids[1]
  ASSERT_EQ(other().dequeue(1).size(), 1u);  // ids[2]
  std::vector<bool> flags = owner().archive_many({ids[0], ids[2], kUnknownId, ids[1]});
  EXPECT_EQ(flags, (std::vector<bool>{true, false, false, true}));
  EXPECT_TRUE(admin().get_message(ids[0]).archived_at.has_value());
  EXPECT_TRUE(admin().get_message(ids[1]).archived_at.has_value());
  EXPECT_FALSE(admin().get_message(ids[2]).archived_at.has_value());
  EXPECT_EQ(admin().queue_metrics("q").archived, 2u);
}

TEST_P(OwnerOpsTest, DeleteByOwnerRemovesTheRow) {
  auto id = EnqueueNumbers("q", 1)[0];
  ASSERT_EQ(owner().dequeue(1).size(), 1u);
  EXPECT_TRUE(owner().delete_message(id));
  EXPECT_THROW(admin().get_message(id), pgqrs::MessageNotFoundError);
  EXPECT_TRUE(AllMessages("q").empty());
  EXPECT_FALSE(owner().delete_message(id));
}

TEST_P(OwnerOpsTest, DeleteManyReturnsPerIdFlags) {
  auto ids = EnqueueNumbers("q", 3);
  ASSERT_EQ(owner().dequeue(2).size(), 2u);
  ASSERT_EQ(other().dequeue(1).size(), 1u);
  std::vector<bool> flags = owner().delete_many({ids[1], ids[2], ids[0], kUnknownId});
  EXPECT_EQ(flags, (std::vector<bool>{true, false, true, false}));
  EXPECT_THROW(admin().get_message(ids[0]), pgqrs::MessageNotFoundError);
  EXPECT_THROW(admin().get_message(ids[1]), pgqrs::MessageNotFoundError);
  EXPECT_NO_THROW(admin().get_message(ids[2]));
}

TEST_P(OwnerOpsTest, GetUnknownMessageThrowsMessageNotFound) {
  EXPECT_THROW(admin().get_message(kUnknownId), pgqrs::MessageNotFoundError);
}

TEST_P(OwnerOpsTest, ReleaseMessagesMakesThemVisibleNowAndReturnsCount) {
  auto ids = EnqueueNumbers("q", 3);
  ASSERT_EQ(owner().dequeue_with_vt(3, 300s).size(), 3u);
  EXPECT_EQ(owner().release_messages({ids[0], ids[2], kUnknownId}), 2u);
  pgqrs::QueueMessage released = admin().get_message(ids[0]);
  EXPECT_FALSE(released.consumer_worker_id.has_value());
  EXPECT_LE(MillisBetween(released.vt, now()), 0);
  EXPECT_EQ(released.read_ct, 1) << "release does not undo the delivery count";

  auto got = other().dequeue(5);  // no clock movement needed
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, ids[0]);
  EXPECT_EQ(got[1].id, ids[2]);
  EXPECT_EQ(got[0].read_ct, 2);
}

TEST_P(OwnerOpsTest, ReleaseWithVisibilityDelaysRedelivery) {
  auto id = EnqueueNumbers("q", 1)[0];
  ASSERT_EQ(owner().dequeue_with_vt(1, 300s).size(), 1u);
  EXPECT_TRUE(owner().release_with_visibility(id, now() + 60s));
  pgqrs::QueueMessage m = admin().get_message(id);
  EXPECT_FALSE(m.consumer_worker_id.has_value());
  EXPECT_NEAR(MillisBetween(m.vt, now()), 60000, 1);
  pgqrs::QueueMetrics metrics = admin().queue_metrics("q");
  EXPECT_EQ(metrics.delayed, 1u);
  EXPECT_EQ(metrics.leased, 0u);
  EXPECT_EQ(metrics.pending, 0u);

  Advance(59s);
  EXPECT_TRUE(other().dequeue(1).empty());
  Advance(1s + 1ms);
  auto got = other().dequeue(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
}

TEST_P(OwnerOpsTest, ReleaseWithPastVisibilityIsVisibleNow) {
  auto id = EnqueueNumbers("q", 1)[0];
  ASSERT_EQ(owner().dequeue_with_vt(1, 300s).size(), 1u);
  EXPECT_TRUE(owner().release_with_visibility(id, now() - 10s));
  auto got = other().dequeue(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
}

TEST_P(OwnerOpsTest, AdminReleaseWorkerMessagesReleasesAllItsLeases) {
  EnqueueNumbers("q", 4);
  ASSERT_EQ(owner().dequeue(3).size(), 3u);
  ASSERT_EQ(other().dequeue(1).size(), 1u);
  EXPECT_EQ(admin().worker_messages(owner().id()).size(), 3u);
  EXPECT_EQ(admin().release_worker_messages(owner().id()), 3u);
  EXPECT_TRUE(admin().worker_messages(owner().id()).empty());
  EXPECT_EQ(admin().worker_messages(other().id()).size(), 1u);
  EXPECT_EQ(admin().queue_metrics("q").pending, 3u);
  EXPECT_EQ(admin().queue_metrics("q").leased, 1u);
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(OwnerOpsTest);

}  // namespace pgqrs_test
