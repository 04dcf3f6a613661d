// Unit tests of the SQLite-family backend, driven directly through backend::Backend (the
// public-API behaviour lives in tests/conformance). Time is injected: every "now" is passed
// explicitly and tests move it by hand instead of sleeping.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/sqlite/sqlite_backend.h"
#include "backend/sqlite/sqlite_driver.h"
#include "backend/sqlite_family/pool.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"

namespace {

using namespace std::chrono_literals;
using pgqrs::QueueMessage;
using pgqrs::TimePoint;
using pgqrs::WorkerKind;
using pgqrs::WorkerStatus;
using pgqrs::backend::Backend;
using pgqrs::backend::DequeueParams;
using pgqrs::backend::EnqueueParams;

// A fixed, microsecond-aligned start time: values read back compare equal.
const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));

class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("pgqrs-sqlite-unit-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

pgqrs::backend::Dsn sqlite_dsn(const std::string& path) {
  pgqrs::backend::Dsn dsn;
  dsn.scheme = pgqrs::backend::Scheme::kSqlite;
  dsn.path = path;
  dsn.raw = path == ":memory:" ? "sqlite::memory:" : "sqlite://" + path;
  dsn.redacted = dsn.raw;
  return dsn;
}

pgqrs::Config test_config() {
  pgqrs::Config config;
  config.max_connections = 4;
  config.connection_timeout_seconds = 10;
  return config;
}

std::unique_ptr<Backend> open_backend(const std::string& path,
                                      const pgqrs::Config& config = test_config()) {
  return pgqrs::backend::make_sqlite_backend(config, sqlite_dsn(path));
}

// A raw libsqlite3 connection to `path`, outside the backend (to tamper or hold locks).
std::unique_ptr<pgqrs::sqlite_family::Connection> raw_connection(const std::string& path) {
  pgqrs::sqlite::SqliteOptions options;
  options.path = path;
  options.busy_timeout = 2s;
  return pgqrs::sqlite::SqliteDriver(options).open();
}

std::vector<std::int64_t> ids_of(const std::vector<QueueMessage>& messages) {
  std::vector<std::int64_t> ids;
  for (const auto& m : messages) ids.push_back(m.id);
  return ids;
}

// ---- fixture: every behaviour test runs on a file database and on ":memory:" ------------

class SqliteBackendTest : public ::testing::TestWithParam<bool /*in_memory*/> {
 protected:
  void SetUp() override {
    path_ = GetParam() ? ":memory:" : (dir_.path() / "queue.db").string();
    backend_ = open_backend(path_);
    backend_->install();
  }

  Backend& be() { return *backend_; }

  std::int64_t make_queue(const std::string& name) { return be().create_queue(name, kT0).id; }

  std::int64_t make_worker(const std::string& name, const std::string& queue,
                           WorkerKind kind = WorkerKind::kConsumer, TimePoint now = kT0) {
    return be().register_worker(name, kind, queue, "test-host", 4242, now).id;
  }

  std::vector<std::int64_t> enqueue(const std::string& queue, int n, TimePoint visible_at = kT0,
                                    TimePoint now = kT0) {
    EnqueueParams p;
    p.queue = queue;
    for (int i = 0; i < n; ++i) p.payloads.push_back(R"({"n":)" + std::to_string(i) + "}");
    p.visible_at = visible_at;
    p.now = now;
    return be().enqueue(p);
  }

  std::vector<QueueMessage> dequeue(const std::string& queue, std::uint32_t limit,
                                    std::int64_t worker, TimePoint now = kT0,
                                    pgqrs::Duration lease = 30s, std::int32_t max_read_ct = 5) {
    DequeueParams p;
    p.queue = queue;
    p.limit = limit;
    p.lease = lease;
    p.consumer_worker_id = worker;
    p.now = now;
    p.max_read_ct = max_read_ct;
    return be().dequeue(p);
  }

  ScratchDir dir_;
  std::string path_;
  std::unique_ptr<Backend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Storage, SqliteBackendTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "memory" : "file";
                         });

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

// ---- metrics ------------------------------------------------------------------------------

TEST_P(SqliteBackendTest, QueueMetricsPutEachMessageInOneBucket) {
  constexpr std::int32_t kMax = 2;
  make_queue("m");
  make_queue("empty");
  const auto c = make_worker("c", "m");
  // archived
  auto a = enqueue("m", 1);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().archive(a, c, kT0), std::vector<bool>{true});
  // leased (lease until kT0 + 60s)
  ASSERT_EQ(enqueue("m", 1).size(), 1U);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  // dead (released after its second delivery)
  auto d = enqueue("m", 1);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().release(d, c, kT0, kT0, kMax), std::vector<bool>{true});
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().release(d, c, kT0, kT0, kMax), std::vector<bool>{true});
  // delayed: released with a later visibility, and enqueued with a delay
  auto r = enqueue("m", 1);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().release(r, c, kT0 + 10min, kT0, kMax), std::vector<bool>{true});
  enqueue("m", 1, kT0 + 1h);
  // pending, enqueued 5 s before kT0
  enqueue("m", 2, kT0 - 5s, kT0 - 5s);

  auto metrics = be().queue_metrics("m", kT0, kMax);
  EXPECT_EQ(metrics.queue_name, "m");
  EXPECT_EQ(metrics.queue_id, be().find_queue("m")->id);
  EXPECT_EQ(metrics.pending, 2U);
  EXPECT_EQ(metrics.delayed, 2U);
  EXPECT_EQ(metrics.leased, 1U);
  EXPECT_EQ(metrics.archived, 1U);
  EXPECT_EQ(metrics.dead, 1U);
  EXPECT_EQ(metrics.oldest_pending_age, std::chrono::milliseconds(5000));

  // After the lease expires, the leased message is pending again (read_ct 1 < 2).
  metrics = be().queue_metrics("m", kT0 + 61s, kMax);
  EXPECT_EQ(metrics.pending, 3U);
  EXPECT_EQ(metrics.leased, 0U);
  EXPECT_EQ(metrics.oldest_pending_age, std::chrono::milliseconds(66000));
  // With max_read_ct 1 it would be a dead letter instead (and so would the released one).
  metrics = be().queue_metrics("m", kT0 + 11min, 1);
  EXPECT_EQ(metrics.pending, 2U);
  EXPECT_EQ(metrics.dead, 3U);

  const auto empty = be().queue_metrics("empty", kT0, kMax);
  EXPECT_EQ(empty.pending + empty.delayed + empty.leased + empty.archived + empty.dead, 0U);
  EXPECT_FALSE(empty.oldest_pending_age.has_value());

  const auto all = be().all_queue_metrics(kT0, kMax);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].queue_name, "empty");
  EXPECT_EQ(all[1].queue_name, "m");
  EXPECT_EQ(all[1].pending, 2U);

  const auto stats = be().system_stats(kT0, kMax);
  EXPECT_EQ(stats.backend, "sqlite");
  EXPECT_EQ(stats.schema_version, pgqrs::backend::kSchemaVersion);
  EXPECT_EQ(stats.queues, 2U);
  EXPECT_EQ(stats.workers, 1U);
  EXPECT_EQ(stats.active_workers, 1U);
  EXPECT_EQ(stats.pending, 2U);
  EXPECT_EQ(stats.delayed, 2U);
  EXPECT_EQ(stats.leased, 1U);
  EXPECT_EQ(stats.archived, 1U);
  EXPECT_EQ(stats.dead, 1U);
}

TEST_P(SqliteBackendTest, WorkerStatsCountByStatusAndLeases) {
  make_queue("q");
  const auto a = make_worker("a", "q");
  const auto b = make_worker("b", "q");
  make_worker("p", "q", WorkerKind::kProducer);
  ASSERT_TRUE(
      be().change_worker_status(b, {WorkerStatus::kReady}, WorkerStatus::kPolling, kT0).applied);
  enqueue("q", 3);
  ASSERT_EQ(dequeue("q", 2, a, kT0, 30s).size(), 2U);
  const auto st = be().worker_stats("q", kT0 + 1s);
  EXPECT_EQ(st.queue_name, "q");
  EXPECT_EQ(st.total, 3U);
  EXPECT_EQ(st.ready, 2U);
  EXPECT_EQ(st.polling, 1U);
  EXPECT_EQ(st.stopped, 0U);
  EXPECT_EQ(st.leased_messages, 2U);
  EXPECT_EQ(be().worker_stats("q", kT0 + 30s).leased_messages, 0U);
}

// ---- workers ------------------------------------------------------------------------------

TEST_P(SqliteBackendTest, RegisterGetAndListWorkers) {
  make_queue("q");
  const auto w = be().register_worker("consumer-1", WorkerKind::kConsumer, "q", "host-a", 77, kT0);
  const auto admin =
      be().register_worker("admin", WorkerKind::kAdmin, std::nullopt, "host-b", 1, kT0);
  EXPECT_EQ(w.status, WorkerStatus::kReady);
  EXPECT_FALSE(admin.queue_id.has_value());
  const auto got = be().get_worker(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "consumer-1");
  EXPECT_EQ(got->kind, WorkerKind::kConsumer);
  EXPECT_EQ(got->queue_id, be().find_queue("q")->id);
  EXPECT_EQ(got->hostname, "host-a");
  EXPECT_EQ(got->pid, 77);
  EXPECT_EQ(got->status, WorkerStatus::kReady);
  EXPECT_EQ(got->started_at, kT0);
  EXPECT_EQ(got->heartbeat_at, kT0);
  EXPECT_FALSE(got->shutdown_at.has_value());
  EXPECT_EQ(be().get_worker(admin.id)->kind, WorkerKind::kAdmin);
  EXPECT_FALSE(be().get_worker(99999).has_value());
  EXPECT_EQ(be().list_workers(std::nullopt).size(), 2U);
  ASSERT_EQ(be().list_workers("q").size(), 1U);
  EXPECT_EQ(be().list_workers("q")[0].id, w.id);
}

TEST_P(SqliteBackendTest, ChangeWorkerStatusIsACompareAndSet) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  auto change = be().change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kPolling, kT0);
  EXPECT_TRUE(change.applied);
  EXPECT_EQ(change.current, WorkerStatus::kPolling);

  change = be().change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kSuspended, kT0);
  EXPECT_FALSE(change.applied);
  EXPECT_EQ(change.current, WorkerStatus::kPolling);
  EXPECT_EQ(be().get_worker(w)->status, WorkerStatus::kPolling);

  change = be().change_worker_status(
      w, {WorkerStatus::kReady, WorkerStatus::kPolling, WorkerStatus::kInterrupted},
      WorkerStatus::kSuspended, kT0);
  EXPECT_TRUE(change.applied);
  EXPECT_FALSE(be().get_worker(w)->shutdown_at.has_value());

  change =
      be().change_worker_status(w, {WorkerStatus::kSuspended}, WorkerStatus::kStopped, kT0 + 9s);
  EXPECT_TRUE(change.applied);
  EXPECT_EQ(be().get_worker(w)->shutdown_at, kT0 + 9s);

  change = be().change_worker_status(4242, {WorkerStatus::kReady}, WorkerStatus::kPolling, kT0);
  EXPECT_FALSE(change.applied);
  EXPECT_FALSE(change.current.has_value());
}

TEST_P(SqliteBackendTest, HeartbeatUpdatesTheWorker) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  EXPECT_TRUE(be().heartbeat(w, kT0 + 42s));
  EXPECT_EQ(be().get_worker(w)->heartbeat_at, kT0 + 42s);
  EXPECT_FALSE(be().heartbeat(555, kT0));
}

TEST_P(SqliteBackendTest, LeasedMessagesAndReleasingThemAll) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 3);
  ASSERT_EQ(dequeue("q", 2, c, kT0, 30s).size(), 2U);
  EXPECT_EQ(ids_of(be().leased_messages(c, kT0 + 1s)), (std::vector<std::int64_t>{ids[0], ids[1]}));
  EXPECT_TRUE(be().leased_messages(c, kT0 + 30s).empty());  // expired
  EXPECT_EQ(be().release_worker_messages(c, kT0 + 2s), 2U);
  EXPECT_TRUE(be().leased_messages(c, kT0 + 2s).empty());
  EXPECT_EQ(be().get_message(ids[0])->vt, kT0 + 2s);
  EXPECT_EQ(dequeue("q", 3, c, kT0 + 2s).size(), 3U);
}

TEST_P(SqliteBackendTest, ReclaimZombiesReleasesTheirLeasesAndStopsThem) {
  make_queue("z");
  make_queue("other");
  const auto zombie = make_worker("zombie", "z");
  const auto alive = make_worker("alive", "z");
  const auto elsewhere = make_worker("elsewhere", "other");
  ASSERT_TRUE(be().heartbeat(alive, kT0 + 100s));
  const auto ids = enqueue("z", 3);
  ASSERT_EQ(dequeue("z", 2, zombie, kT0, 1h).size(), 2U);
  ASSERT_EQ(dequeue("z", 1, alive, kT0, 1h).size(), 1U);

  EXPECT_EQ(be().reclaim_zombies("z", kT0 + 50s, kT0 + 60s), 2U);
  const auto z = be().get_worker(zombie);
  EXPECT_EQ(z->status, WorkerStatus::kStopped);
  EXPECT_EQ(z->shutdown_at, kT0 + 60s);
  EXPECT_EQ(be().get_worker(alive)->status, WorkerStatus::kReady);
  EXPECT_EQ(be().get_worker(elsewhere)->status, WorkerStatus::kReady);  // other queue
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->vt, kT0 + 60s);
  EXPECT_FALSE(m->consumer_worker_id.has_value());
  EXPECT_EQ(ids_of(be().leased_messages(alive, kT0 + 60s)), std::vector<std::int64_t>{ids[2]});
  EXPECT_EQ(be().reclaim_zombies("z", kT0 + 50s, kT0 + 60s), 0U);
}

TEST_P(SqliteBackendTest, PurgeWorkersDeletesOnlyOldUnreferencedStoppedWorkers) {
  make_queue("q");
  const auto stop = [&](std::int64_t id) {
    ASSERT_TRUE(
        be().change_worker_status(id, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  };
  const auto unreferenced = make_worker("gone", "q");
  const auto referenced = make_worker("worked", "q");
  const auto running = make_worker("running", "q");
  const auto recent = make_worker("recent", "q");
  ASSERT_TRUE(be().heartbeat(recent, kT0 + 1h));
  enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, referenced).size(), 1U);
  stop(unreferenced);
  stop(referenced);
  stop(recent);

  EXPECT_EQ(be().purge_workers(kT0 + 1s), 1U);
  EXPECT_FALSE(be().get_worker(unreferenced).has_value());
  EXPECT_TRUE(be().get_worker(referenced).has_value());
  EXPECT_TRUE(be().get_worker(running).has_value());
  EXPECT_TRUE(be().get_worker(recent).has_value());
}

TEST_P(SqliteBackendTest, DeleteWorkerRequiresAStoppedUnreferencedWorker) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  const auto p = make_worker("p", "q", WorkerKind::kProducer);
  EXPECT_THROW(be().delete_worker(w), pgqrs::ConflictError);  // ready
  EnqueueParams params;
  params.queue = "q";
  params.payloads = {"{}"};
  params.visible_at = params.now = kT0;
  params.producer_worker_id = p;
  be().enqueue(params);
  ASSERT_TRUE(
      be().change_worker_status(p, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  EXPECT_THROW(be().delete_worker(p), pgqrs::ConflictError);  // referenced by its message
  ASSERT_TRUE(
      be().change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  be().delete_worker(w);
  EXPECT_FALSE(be().get_worker(w).has_value());
  EXPECT_THROW(be().delete_worker(w), pgqrs::WorkerNotFoundError);
}

// ---- concurrency --------------------------------------------------------------------------

// Drains `queue` with its own consumer; returns the ids it archived.
std::vector<std::int64_t> drain(Backend& backend, const std::string& queue,
                                const std::string& worker_name) {
  const auto worker =
      backend.register_worker(worker_name, WorkerKind::kConsumer, queue, "host", 1, kT0).id;
  std::vector<std::int64_t> mine;
  for (;;) {
    DequeueParams p;
    p.queue = queue;
    p.limit = 7;
    p.lease = 1h;  // time does not move: nothing is redelivered
    p.consumer_worker_id = worker;
    p.now = kT0;
    const auto got = backend.dequeue(p);
    if (got.empty()) return mine;
    const auto ids = ids_of(got);
    const auto applied = backend.archive(ids, worker, kT0);
    if (std::count(applied.begin(), applied.end(), true) != static_cast<long>(ids.size())) {
      throw std::runtime_error("archive of a fresh lease did not apply");
    }
    mine.insert(mine.end(), ids.begin(), ids.end());
  }
}

void fill(Backend& backend, const std::string& queue, int n) {
  EnqueueParams p;
  p.queue = queue;
  for (int i = 0; i < n; ++i) p.payloads.push_back(std::to_string(i));
  p.visible_at = p.now = kT0;
  backend.enqueue(p);
}

TEST(SqliteBackendConcurrency, FourThreadsDequeueEachMessageExactlyOnce) {
  constexpr int kMessages = 2000;
  constexpr int kThreads = 4;
  ScratchDir dir;
  auto backend = open_backend((dir.path() / "threads.db").string());
  backend->install();
  backend->create_queue("work", kT0);
  fill(*backend, "work", kMessages);

  std::vector<std::vector<std::int64_t>> got(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        got[t] = drain(*backend, "work", "consumer-" + std::to_string(t));
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << "thread " << t << ": " << e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  std::set<std::int64_t> all;
  std::size_t total = 0;
  for (const auto& ids : got) {
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kMessages));  // nothing delivered twice
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  const auto metrics = backend->queue_metrics("work", kT0, 5);
  EXPECT_EQ(metrics.archived, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(metrics.pending + metrics.leased + metrics.delayed + metrics.dead, 0U);
}

TEST(SqliteBackendConcurrency, ProcessesSharingOneFileNeverShareAMessage) {
  constexpr int kMessages = 600;
  constexpr int kProcesses = 3;
  ScratchDir dir;
  const std::string path = (dir.path() / "processes.db").string();
  {
    auto backend = open_backend(path);
    backend->install();
    backend->create_queue("work", kT0);
    fill(*backend, "work", kMessages);
  }  // closed before fork: children open their own connections

  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        auto backend = open_backend(path);
        const auto ids = drain(*backend, "work", "proc-" + std::to_string(i));
        std::ofstream out(dir.path() / ("child-" + std::to_string(i) + ".txt"));
        for (auto id : ids) out << id << "\n";
        code = out.good() ? 0 : 2;
      } catch (...) {
        code = 1;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  std::set<std::int64_t> all;
  std::size_t total = 0;
  for (int i = 0; i < kProcesses; ++i) {
    std::ifstream in(dir.path() / ("child-" + std::to_string(i) + ".txt"));
    std::int64_t id = 0;
    while (in >> id) {
      ++total;
      all.insert(id);
    }
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kMessages));
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(open_backend(path)->queue_metrics("work", kT0, 5).archived,
            static_cast<std::uint64_t>(kMessages));
}

TEST(SqliteBackendConcurrency, MemoryDatabaseIsOneDatabaseForAllThreads) {
  pgqrs::Config config = test_config();
  config.max_connections = 8;  // ignored for ":memory:": one shared connection
  auto backend = open_backend(":memory:", config);
  backend->install();
  backend->create_queue("work", kT0);
  fill(*backend, "work", 300);
  std::vector<std::vector<std::int64_t>> got(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] { got[t] = drain(*backend, "work", "c" + std::to_string(t)); });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> all;
  for (const auto& ids : got) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 300U);
  EXPECT_EQ(backend->queue_metrics("work", kT0, 5).archived, 300U);
}

TEST(SqliteBackendConcurrency, ALockHeldTooLongIsATimeout) {
  ScratchDir dir;
  const std::string path = (dir.path() / "locked.db").string();
  pgqrs::Config config = test_config();
  config.connection_timeout_seconds = 1;
  auto backend = open_backend(path, config);
  backend->install();

  auto holder = raw_connection(path);
  holder->exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  try {
    backend->create_queue("q", kT0);
    FAIL() << "expected TimeoutError";
  } catch (const pgqrs::TimeoutError& e) {
    EXPECT_TRUE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("create_queue"), std::string::npos) << e.what();
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 5s);
  holder->exec("ROLLBACK");
  // Nothing was half-done, and the backend works again once the lock is gone.
  EXPECT_FALSE(backend->find_queue("q").has_value());
  backend->create_queue("q", kT0);
}

TEST(SqliteFamilyPool, AcquireTimesOutWhenEveryConnectionIsInUse) {
  pgqrs::sqlite::SqliteOptions options;
  options.path = ":memory:";
  pgqrs::sqlite::SqliteDriver driver(options);
  pgqrs::sqlite_family::ConnectionPool pool(
      [&] { return std::make_unique<pgqrs::sqlite_family::Session>(driver.open()); }, 1, "test");
  auto held = pool.acquire(std::chrono::steady_clock::now() + 1s);
  try {
    pool.acquire(std::chrono::steady_clock::now() + 50ms);
    FAIL() << "expected TimeoutError";
  } catch (const pgqrs::TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("no free connection"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.open_count(), 1U);
}

}  // namespace
