// Unit tests of the SQLite-family backend through backend::Backend: schema, opening,
// queues, enqueue/dequeue, owner-only operations and dead letters. (The public-API
// behaviour is covered by tests/conformance.) Time is injected, never slept.
#include "sqlite_family_test_support.h"

#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers

PGQRS_SQLITE_STORAGE_TESTS(SqliteBackendTest);

// ---- schema -------------------------------------------------------------------------------

TEST_P(SqliteBackendTest, InstallIsIdempotentAndRecordsTheVersion) {
  EXPECT_EQ(be().name(), "sqlite");
  EXPECT_EQ(be().schema_version(), pgqrs::backend::kSchemaVersion);
  be().install();
  be().install();
  EXPECT_EQ(be().schema_version(), pgqrs::backend::kSchemaVersion);
}

TEST_P(SqliteBackendTest, UninstallDropsEverythingAndIsIdempotent) {
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

TEST(SqliteBackendSchema, VersionIsNulloptBeforeInstall) {
  ScratchDir dir;
  auto backend = open_backend((dir.path() / "fresh.db").string());
  EXPECT_EQ(backend->schema_version(), std::nullopt);
}

TEST(SqliteBackendSchema, MissingTableIsConfigErrorNamingIt) {
  ScratchDir dir;
  const std::string path = (dir.path() / "broken.db").string();
  auto backend = open_backend(path);
  backend->install();
  raw_connection(path)->exec("DROP TABLE pgqrs_workflow_steps");
  try {
    backend->schema_version();
    FAIL() << "expected ConfigError";
  } catch (const pgqrs::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("pgqrs_workflow_steps"), std::string::npos) << e.what();
  }
}

TEST(SqliteBackendSchema, FileDatabaseUsesWalAndIsSharedBetweenBackends) {
  ScratchDir dir;
  const std::string path = (dir.path() / "shared.db").string();
  auto first = open_backend(path);
  first->install();
  first->create_queue("shared", kT0);
  auto second = open_backend(path);
  EXPECT_TRUE(second->find_queue("shared").has_value());

  auto raw = raw_connection(path);
  auto mode = raw->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode->step());
  EXPECT_EQ(mode->column_text(0), "wal");
}

TEST(SqliteBackendOpen, MissingDirectoryIsConnectionErrorNamingThePath) {
  const std::string path = "/nonexistent-pgqrs-dir/sub/queue.db";
  try {
    open_backend(path);
    FAIL() << "expected ConnectionError";
  } catch (const pgqrs::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(SqliteBackendOpen, FileThatIsNotADatabaseIsConnectionError) {
  ScratchDir dir;
  const std::string path = (dir.path() / "notes.txt").string();
  {
    std::ofstream out(path);
    out << "this is certainly not a SQLite database, just some plain text that is long enough "
           "to fill the header of a database file many times over.\n";
  }
  try {
    open_backend(path);
    FAIL() << "expected ConnectionError";
  } catch (const pgqrs::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find(path + " is not a SQLite database"), std::string::npos)
        << e.what();
  }
}

// ---- queues -------------------------------------------------------------------------------

TEST_P(SqliteBackendTest, CreateFindAndListQueues) {
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

TEST_P(SqliteBackendTest, CreatingAnExistingQueueThrows) {
  make_queue("q");
  EXPECT_THROW(be().create_queue("q", kT0), pgqrs::QueueAlreadyExistsError);
}

TEST_P(SqliteBackendTest, DeleteQueueRefusedWhileMessagesOrLiveWorkersReferenceIt) {
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

TEST_P(SqliteBackendTest, UnknownQueueIsQueueNotFoundEverywhere) {
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

TEST_P(SqliteBackendTest, EnqueueReturnsIdsInInputOrderAndStoresTheRows) {
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

TEST_P(SqliteBackendTest, EnqueueWithUnknownProducerInsertsNothing) {
  make_queue("q");
  EnqueueParams p;
  p.queue = "q";
  p.payloads = {"1", "2"};
  p.visible_at = p.now = kT0;
  p.producer_worker_id = 999;
  EXPECT_THROW(be().enqueue(p), pgqrs::WorkerNotFoundError);
  EXPECT_TRUE(be().list_messages("q", 10, true).empty());
}

TEST_P(SqliteBackendTest, DequeueLeasesOldestVisibleFirstAndSetsLeaseFields) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto late = enqueue("q", 1, kT0 - 1s);    // visible earlier despite the higher id
  const auto early = enqueue("q", 1, kT0 - 10s);  // the oldest visible
  const auto same = enqueue("q", 2, kT0 - 1s);    // ties on vt are ordered by id
  const auto future = enqueue("q", 1, kT0 + 1h);  // not visible yet

  const auto got = dequeue("q", 10, c, kT0, 45s);
  ASSERT_EQ(got.size(), 4U);
  EXPECT_EQ(ids_of(got), (std::vector<std::int64_t>{early[0], late[0], same[0], same[1]}));
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
  ASSERT_EQ(be().archive(ids_of(got), c, kT0 + 10s), std::vector<bool>(4, true));
  EXPECT_EQ(ids_of(dequeue("q", 10, c, kT0 + 1h)), future);
}

TEST_P(SqliteBackendTest, DequeueRespectsTheLimit) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 5);
  EXPECT_TRUE(dequeue("q", 0, c).empty());
  EXPECT_EQ(ids_of(dequeue("q", 2, c)), (std::vector<std::int64_t>{ids[0], ids[1]}));
  EXPECT_EQ(ids_of(dequeue("q", 2, c)), (std::vector<std::int64_t>{ids[2], ids[3]}));
  EXPECT_EQ(ids_of(dequeue("q", 2, c)), (std::vector<std::int64_t>{ids[4]}));
}

TEST_P(SqliteBackendTest, LeaseExpiryRedeliversToAnotherConsumer) {
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

TEST_P(SqliteBackendTest, AStoppedConsumerCannotLease) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  enqueue("q", 1);
  ASSERT_TRUE(
      be().change_worker_status(c, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  EXPECT_THROW(dequeue("q", 1, c), pgqrs::StateTransitionError);
  EXPECT_EQ(be().queue_metrics("q", kT0, 5).pending, 1U);
}

TEST_P(SqliteBackendTest, DequeueWithUnknownConsumerIsWorkerNotFound) {
  make_queue("q");
  enqueue("q", 1);
  EXPECT_THROW(dequeue("q", 1, 12345), pgqrs::WorkerNotFoundError);
  EXPECT_THROW(dequeue("q", 0, 12345), pgqrs::WorkerNotFoundError);  // also when nothing to lease
  EXPECT_EQ(be().get_message(be().list_messages("q", 1, true)[0].id)->read_ct, 0);
}

// ---- owner-only operations ----------------------------------------------------------------

TEST_P(SqliteBackendTest, OwnerOnlyOperationsRefuseOtherWorkers) {
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

TEST_P(SqliteBackendTest, OwnerOnlyOperationsRefuseAnExpiredLease) {
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

TEST_P(SqliteBackendTest, BatchOperationsReportOneFlagPerIdInInputOrder) {
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

TEST_P(SqliteBackendTest, RemoveDeletesTheRow) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 2);
  ASSERT_EQ(dequeue("q", 2, c).size(), 2U);
  EXPECT_EQ(be().remove(ids, c, kT0 + 1s), (std::vector<bool>{true, true}));
  EXPECT_FALSE(be().get_message(ids[0]).has_value());
  EXPECT_TRUE(be().list_messages("q", 10, true).empty());
}

TEST_P(SqliteBackendTest, SetLeaseExtendsTheLease) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, c, kT0, 30s).size(), 1U);
  EXPECT_EQ(be().set_lease(ids, c, kT0 + 10min, kT0 + 20s), std::vector<bool>{true});
  EXPECT_EQ(be().get_message(ids[0])->vt, kT0 + 10min);
  EXPECT_TRUE(dequeue("q", 1, c, kT0 + 5min).empty());
  EXPECT_EQ(be().archive(ids, c, kT0 + 5min), std::vector<bool>{true});
}

TEST_P(SqliteBackendTest, ReleaseMakesTheMessageVisibleAtTheGivenTime) {
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

TEST_P(SqliteBackendTest, ReleasingAfterMaxDeliveriesDeadLetters) {
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
  EXPECT_EQ(ids_of(be().dead_letters("q", kT0 + 1h, kMax)), ids);
  EXPECT_EQ(ids_of(be().dead_letters(std::nullopt, kT0 + 1h, kMax)), ids);
}

TEST_P(SqliteBackendTest, LeaseExpiryAfterMaxDeliveriesDeadLetters) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 1);
  const auto fresh = enqueue("q", 1, kT0 + 1s);
  ASSERT_EQ(dequeue("q", 1, c, kT0, 30s, /*max_read_ct=*/1).size(), 1U);
  // Expired lease, delivered max_read_ct times: a dead letter even before it is marked.
  EXPECT_EQ(ids_of(be().dead_letters("q", kT0 + 30s, 1)), ids);
  EXPECT_TRUE(be().dead_letters("q", kT0 + 29s, 1).empty());

  // The next dequeue that reaches it marks it dead and delivers the next one instead.
  EXPECT_EQ(ids_of(dequeue("q", 1, c, kT0 + 40s, 30s, 1)), fresh);
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->dead_at, kT0 + 40s);
  EXPECT_EQ(m->read_ct, 1);
  EXPECT_EQ(ids_of(be().dead_letters("q", kT0 + 40s, 1)), ids);
}

TEST_P(SqliteBackendTest, ReplayMakesADeadLetterFreshAgain) {
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
  EXPECT_EQ(ids_of(dequeue("q", 2, c, kT0 + 5s, 30s, 1)),
            (std::vector<std::int64_t>{ids[1], ids[0]}));
}

TEST_P(SqliteBackendTest, ListMessagesIsNewestFirstAndCanHideArchived) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 3);
  ASSERT_EQ(dequeue("q", 1, c).size(), 1U);
  ASSERT_EQ(be().archive({ids[0]}, c, kT0), std::vector<bool>{true});
  EXPECT_EQ(ids_of(be().list_messages("q", 10, true)),
            (std::vector<std::int64_t>{ids[2], ids[1], ids[0]}));
  EXPECT_EQ(ids_of(be().list_messages("q", 10, false)),
            (std::vector<std::int64_t>{ids[2], ids[1]}));
  EXPECT_EQ(ids_of(be().list_messages("q", 1, true)), (std::vector<std::int64_t>{ids[2]}));
}

}  // namespace
