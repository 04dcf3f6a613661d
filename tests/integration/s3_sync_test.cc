// The S3 sync layer against the S3 test server: the seven states, snapshot / sync / install
// refusals, conflicts between stores on one object (nothing remote is overwritten), durable
// reads seeing other writers, and group commit sharing PUTs between concurrent writers.
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "backend/s3/replica.h"
#include "backend/store_backend.h"
#include "integration/s3_test_support.h"

namespace pgqrs_test {
namespace {

namespace fs = std::filesystem;
using pgqrs::DurabilityMode;
using pgqrs::SyncState;

// The cache database file under `cache_dir` (the only *.sqlite file there).
fs::path CacheDb(const fs::path& cache_dir) {
  for (const auto& e : fs::recursive_directory_iterator(cache_dir)) {
    if (e.is_regular_file() && e.path().extension() == ".sqlite") return e.path();
  }
  return {};
}

std::uint64_t PutsOf(const pgqrs::Store& s) {
  auto* replica = dynamic_cast<pgqrs::s3::Replica*>(pgqrs::backend::backend_of(s).object_sync());
  return replica == nullptr ? 0 : replica->puts();
}

void Enqueue(const pgqrs::Store& s, const std::string& queue, int n) {
  pgqrs::enqueue().message(pgqrs::json{{"n", n}}).to(queue).execute(s);
}

class S3SyncTest : public ::testing::Test {
 protected:
  void SetUp() override { PGQRS_SKIP_UNLESS_S3(); }
  void TearDown() override {
    if (std::getenv("PGQRS_TEST_S3_BUCKET") != nullptr) DirectClient().remove(key_);
  }
  fs::path Cache(const std::string& name) { return dir_.path() / name; }

  std::string key_ = UniqueKey("sync");
  ScratchDir dir_{"pgqrs-s3-sync"};
};

TEST_F(S3SyncTest, EveryStateOfTheMatrixIsReportedAndResolved) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a"), DurabilityMode::kLocal));
  pgqrs::S3Store sa = pgqrs::as_s3(a);
  EXPECT_EQ(sa.state(), SyncState::kRemoteMissingClean);

  pgqrs::admin(a).install();  // create-only PUT, also in local mode
  EXPECT_EQ(sa.state(), SyncState::kInSync);

  a.queue("jobs");
  EXPECT_EQ(sa.state(), SyncState::kLocalChanges);
  sa.sync();
  EXPECT_EQ(sa.state(), SyncState::kInSync);

  // Another writer publishes: the remote moved on.
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));
  Enqueue(b, "jobs", 1);
  EXPECT_EQ(sa.state(), SyncState::kRemoteChanges);
  sa.snapshot();
  EXPECT_EQ(sa.state(), SyncState::kInSync);
  EXPECT_EQ(pgqrs::admin(a).list_messages("jobs").size(), 1u);

  // Both sides change: sync is refused and overwrites nothing.
  Enqueue(a, "jobs", 2);
  Enqueue(b, "jobs", 3);
  EXPECT_EQ(sa.state(), SyncState::kConcurrentChanges);
  ExpectThrowMessage<pgqrs::ConflictError>([&] { sa.sync(); }, "sync over a concurrent write");
  ExpectThrowMessage<pgqrs::ConflictError>([&] { sa.snapshot(); }, "snapshot with local writes");
  EXPECT_EQ(sa.state(), SyncState::kConcurrentChanges);
  EXPECT_EQ(RemoteMessages(key_, "jobs").size(), 2u);  // b's two messages, a's not

  // Dropping the cache discards a's writes: LocalMissing, then snapshot fetches the remote.
  const fs::path db = CacheDb(Cache("a"));
  ASSERT_FALSE(db.empty());
  fs::remove(db);
  EXPECT_EQ(sa.state(), SyncState::kLocalMissing);
  sa.snapshot();
  EXPECT_EQ(sa.state(), SyncState::kInSync);
  EXPECT_EQ(pgqrs::admin(a).list_messages("jobs").size(), 2u);

  // The object disappears: clean, then dirty once a writes; sync re-creates it.
  DirectClient().remove(key_);
  EXPECT_EQ(sa.state(), SyncState::kRemoteMissingClean);
  Enqueue(a, "jobs", 4);
  EXPECT_EQ(sa.state(), SyncState::kRemoteMissingDirty);
  ExpectThrowMessage<pgqrs::ConflictError>([&] { sa.snapshot(); }, "snapshot with local writes");
}

TEST_F(S3SyncTest, SyncAfterTheObjectWasDeletedIsAConflictNotARecreation) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a"), DurabilityMode::kLocal));
  pgqrs::admin(a).install();
  a.queue("jobs");
  DirectClient().remove(key_);
  // The base names a version that no longer exists: If-Match fails (no silent re-create).
  ExpectThrowMessage<pgqrs::ConflictError>([&] { pgqrs::as_s3(a).sync(); }, "sync after delete");
  EXPECT_FALSE(DirectClient().head(key_).has_value());
}

TEST_F(S3SyncTest, SnapshotIsRefusedWhileLocalWritesAreUnsynced) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a"), DurabilityMode::kLocal));
  pgqrs::admin(a).install();
  a.queue("jobs");
  Enqueue(a, "jobs", 1);
  const std::string msg = ExpectThrowMessage<pgqrs::ConflictError>(
      [&] { pgqrs::as_s3(a).snapshot(); }, "snapshot with unsynced writes");
  EXPECT_TRUE(ContainsAny(msg, {"not synced", "sync"})) << msg;
  // Nothing was lost locally, and sync then publishes it.
  EXPECT_EQ(pgqrs::admin(a).list_messages("jobs").size(), 1u);
  pgqrs::as_s3(a).sync();
  EXPECT_EQ(RemoteMessages(key_, "jobs").size(), 1u);
}

TEST_F(S3SyncTest, InstallAgainstAnExistingObjectIsRefusedAndOverwritesNothing) {
  // Both stores open while the object does not exist yet.
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));
  pgqrs::Store c = pgqrs::connect_with_config(S3Config(key_, Cache("c"), DurabilityMode::kLocal));
  pgqrs::admin(a).install();
  a.queue("keep");
  Enqueue(a, "keep", 7);
  const auto etag = DirectClient().head(key_)->etag;

  for (const pgqrs::Store* s : {&b, &c}) {
    const std::string msg = ExpectThrowMessage<pgqrs::ConflictError>(
        [&] { pgqrs::admin(*s).install(); }, "install over an existing object");
    EXPECT_TRUE(ContainsAny(msg, {"already exists"})) << msg;
  }
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);
  auto remote = RemoteMessages(key_, "keep");
  ASSERT_EQ(remote.size(), 1u);
  EXPECT_EQ(remote[0].payload, (pgqrs::json{{"n", 7}}));
  // b now mirrors the object; installing again is the idempotent no-op it is elsewhere.
  EXPECT_NO_THROW(pgqrs::admin(b).install());
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);
}

TEST_F(S3SyncTest, DurableWriteOnAStaleCacheConflictsThenSucceedsOnRetry) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  a.queue("jobs");
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));  // same version
  Enqueue(a, "jobs", 1);
  ExpectThrowMessage<pgqrs::ConflictError>([&] { Enqueue(b, "jobs", 2); }, "stale durable write");
  EXPECT_EQ(RemoteMessages(key_, "jobs").size(), 1u);  // a's write survived, b's not applied
  // The conflict refreshed b's cache: the retry lands on top of a's write.
  Enqueue(b, "jobs", 2);
  auto remote = RemoteMessages(key_, "jobs");
  ASSERT_EQ(remote.size(), 2u);
  EXPECT_EQ(pgqrs::as_s3(b).state(), SyncState::kInSync);
}

TEST_F(S3SyncTest, DurableReadsSeeWritesOfAnotherStore) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  a.queue("jobs");
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));
  Enqueue(a, "jobs", 1);
  Enqueue(a, "jobs", 2);
  EXPECT_EQ(pgqrs::admin(b).list_messages("jobs").size(), 2u);
  EXPECT_EQ(pgqrs::as_s3(b).state(), SyncState::kInSync);
}

TEST_F(S3SyncTest, AWriteThatChangesNothingMakesNoRequestToStore) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  a.queue("jobs");
  pgqrs::Consumer consumer = a.consumer("jobs");
  const auto before = PutsOf(a);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(pgqrs::dequeue().worker(consumer).fetch_all(a).empty());
  EXPECT_EQ(PutsOf(a), before);
}

TEST_F(S3SyncTest, ConcurrentWritersShareConditionalPuts) {
  // 60 ms per request, as to a remote region: writers queue up behind the PUT in flight.
  FaultProxy proxy({"--latency-ms", "60"});
  ScopedEnv endpoint("AWS_ENDPOINT_URL", proxy.url());
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  a.queue("jobs");
  const auto before = PutsOf(a);
  constexpr int kThreads = 8, kEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        try {
          Enqueue(a, "jobs", t * 100 + i);
        } catch (const std::exception&) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const auto puts = PutsOf(a) - before;
  EXPECT_LE(puts, static_cast<std::uint64_t>(kThreads * kEach / 2))
      << "each write got its own PUT: group commit is not working";
  EXPECT_EQ(RemoteMessages(key_, "jobs").size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST_F(S3SyncTest, UninstallDeletesTheObjectAndInstallCreatesItAgain) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  a.queue("jobs");
  pgqrs::admin(a).uninstall();
  EXPECT_FALSE(DirectClient().head(key_).has_value());
  EXPECT_EQ(pgqrs::as_s3(a).state(), SyncState::kRemoteMissingClean);
  pgqrs::admin(a).install();
  EXPECT_TRUE(DirectClient().head(key_).has_value());
  EXPECT_TRUE(pgqrs::admin(a).list_queues().empty());
}

TEST_F(S3SyncTest, AsS3OnAnotherBackendNamesIt) {
  pgqrs::Store s = pgqrs::connect_with_config(
      pgqrs::Config::from_dsn("sqlite://" + (dir_.path() / "q.db").string()));
  const std::string msg =
      ExpectThrowMessage<pgqrs::ConfigError>([&] { (void)pgqrs::as_s3(s); }, "as_s3 on sqlite");
  EXPECT_TRUE(ContainsAny(msg, {"sqlite"})) << msg;
}

TEST_F(S3SyncTest, MissingCredentialsAreAConfigError) {
  ScopedEnv no_key("AWS_ACCESS_KEY_ID", "");
  const std::string msg = ExpectThrowMessage<pgqrs::ConfigError>(
      [&] { (void)pgqrs::connect_with_config(S3Config(key_, Cache("a"))); }, "no credentials");
  EXPECT_TRUE(ContainsAny(msg, {"AWS_ACCESS_KEY_ID"})) << msg;
}

TEST_F(S3SyncTest, AMissingBucketIsAConfigErrorNamingIt) {
  pgqrs::Config c = S3Config(key_, Cache("a"));
  c.dsn = "s3://pgqrs-no-such-bucket/" + key_;
  const std::string msg = ExpectThrowMessage<pgqrs::ConfigError>(
      [&] { (void)pgqrs::connect_with_config(c); }, "missing bucket");
  EXPECT_TRUE(ContainsAny(msg, {"pgqrs-no-such-bucket"})) << msg;
}

TEST_F(S3SyncTest, AnObjectThatIsNotADatabaseIsRefused) {
  DirectClient().put(key_, std::string(4096, 'x'), pgqrs::s3::PutCondition::if_absent());
  const std::string msg = ExpectThrowMessage<pgqrs::ConfigError>(
      [&] { (void)pgqrs::connect_with_config(S3Config(key_, Cache("a"))); }, "not a database");
  EXPECT_TRUE(ContainsAny(msg, {"not a SQLite database"})) << msg;
}

}  // namespace
}  // namespace pgqrs_test
