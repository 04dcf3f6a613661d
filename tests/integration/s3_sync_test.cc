// The S3 sync layer against the S3 test server: the seven states, snapshot / sync / install
// refusals, conflicts between stores on one object (nothing remote is overwritten), local
// mode's working copies (the original pgqrs's rule: install is local, sync publishes or is
// refused, a deleted object is published again), durable reads seeing other writers, and
// group commit sharing PUTs between concurrent writers.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
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

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::uint64_t PutsOf(const pgqrs::Store& s) {
  auto* replica = dynamic_cast<pgqrs::s3::Replica*>(pgqrs::backend::backend_of(s).object_sync());
  return replica == nullptr ? 0 : replica->puts();
}

void Enqueue(const pgqrs::Store& s, const std::string& queue, int n) {
  pgqrs::enqueue().message(pgqrs::json{{"n", n}}).to(queue).execute(s);
}

// A local-mode store that installed, wrote one message to queue "seeded" and synced.
pgqrs::Store PublishedLocalStore(const pgqrs::Config& config) {
  pgqrs::Store s = pgqrs::connect_with_config(config);
  pgqrs::admin(s).install();
  s.queue("seeded");
  Enqueue(s, "seeded", 1);
  pgqrs::as_s3(s).sync();
  return s;
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

  pgqrs::admin(a).install();  // local mode: only the working copy; sync() publishes it
  EXPECT_EQ(sa.state(), SyncState::kRemoteMissingDirty);
  EXPECT_FALSE(DirectClient().head(key_).has_value());
  sa.sync();  // create-only PUT
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

  // The object disappears: clean, then dirty once a writes; sync publishes it again.
  DirectClient().remove(key_);
  EXPECT_EQ(sa.state(), SyncState::kRemoteMissingClean);
  Enqueue(a, "jobs", 4);
  EXPECT_EQ(sa.state(), SyncState::kRemoteMissingDirty);
  ExpectThrowMessage<pgqrs::ConflictError>([&] { sa.snapshot(); }, "snapshot with local writes");
  sa.sync();
  EXPECT_EQ(sa.state(), SyncState::kInSync);
  EXPECT_EQ(RemoteMessages(key_, "jobs").size(), 3u);
}

TEST_F(S3SyncTest, SyncAfterTheObjectWasDeletedPublishesTheWorkingCopyAgain) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a"), DurabilityMode::kLocal));
  pgqrs::S3Store sa = pgqrs::as_s3(a);
  pgqrs::admin(a).install();
  a.queue("jobs");
  Enqueue(a, "jobs", 1);
  sa.sync();
  DirectClient().remove(key_);

  // Nothing new locally: sync() has nothing to publish and makes no request.
  const auto puts = PutsOf(a);
  sa.sync();
  EXPECT_EQ(PutsOf(a), puts);
  EXPECT_FALSE(DirectClient().head(key_).has_value());

  // With local writes, the refused If-Match (the base is gone) becomes a create-only PUT.
  Enqueue(a, "jobs", 2);
  sa.sync();
  EXPECT_EQ(sa.state(), SyncState::kInSync);
  auto remote = RemoteMessages(key_, "jobs");
  std::set<int> ns;  // everything a ever synced, and the new write
  for (const auto& m : remote) ns.insert(m.payload.at("n").get<int>());
  EXPECT_EQ(ns, (std::set<int>{1, 2}));

  // Deleted and re-created by another store before a's sync: a conflict, nothing replaced.
  DirectClient().remove(key_);
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));
  pgqrs::admin(b).install();
  b.queue("theirs");
  const auto etag = DirectClient().head(key_)->etag;
  Enqueue(a, "jobs", 3);
  const std::string msg =
      ExpectThrowMessage<pgqrs::ConflictError>([&] { sa.sync(); }, "sync over a re-creation");
  EXPECT_TRUE(ContainsAny(msg, {"conflict"})) << msg;
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);
  EXPECT_EQ(sa.state(), SyncState::kConcurrentChanges);
  EXPECT_EQ(pgqrs::admin(a).list_messages("jobs").size(), 3u);  // the working copy is kept
}

TEST_F(S3SyncTest, ARepublishWhoseBaseWasNotRecordedIsRecognisedByTheNextSync) {
  // A crash after the republishing PUT landed but before the new base was written: the
  // next session still holds the deleted version's base. Its sync must find its own body
  // on the server (no conflict, no second version), not lose or duplicate anything.
  const pgqrs::Config config = S3Config(key_, Cache("a"), DurabilityMode::kLocal);
  fs::path base_file;
  std::string stale_base;
  {
    pgqrs::Store a = PublishedLocalStore(config);
    base_file = CacheDb(Cache("a")).string() + ".sync";
    stale_base = ReadFile(base_file);
    DirectClient().remove(key_);
    Enqueue(a, "seeded", 2);
    pgqrs::as_s3(a).sync();  // republished
  }
  const auto etag = DirectClient().head(key_)->etag;
  std::ofstream(base_file, std::ios::trunc) << stale_base;  // the "crash"

  pgqrs::Store again = pgqrs::connect_with_config(config);
  EXPECT_EQ(pgqrs::as_s3(again).state(), SyncState::kConcurrentChanges);
  pgqrs::as_s3(again).sync();
  EXPECT_EQ(pgqrs::as_s3(again).state(), SyncState::kInSync);
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);
  EXPECT_EQ(RemoteMessages(key_, "seeded").size(), 2u);
}

TEST_F(S3SyncTest, EachLocalStoreHasItsOwnWorkingCopyAndSeesTheRemoteAfterSnapshot) {
  // Two stores from the same config in one process (the same cache dir): both connect.
  const pgqrs::Config config = S3Config(key_, Cache("a"), DurabilityMode::kLocal);
  pgqrs::Store seed = PublishedLocalStore(config);

  pgqrs::Store second = pgqrs::connect_with_config(config);
  pgqrs::S3Store s2 = pgqrs::as_s3(second);
  EXPECT_EQ(s2.state(), SyncState::kRemoteChanges);  // opening downloads nothing
  s2.snapshot();
  EXPECT_EQ(s2.state(), SyncState::kInSync);
  ASSERT_EQ(pgqrs::admin(second).list_messages("seeded").size(), 1u);

  // Writes in one working copy do not reach the other until sync() + snapshot().
  Enqueue(second, "seeded", 2);
  EXPECT_EQ(pgqrs::admin(seed).list_messages("seeded").size(), 1u);
  EXPECT_EQ(pgqrs::as_s3(seed).state(), SyncState::kInSync);
  s2.sync();
  pgqrs::as_s3(seed).snapshot();
  EXPECT_EQ(pgqrs::admin(seed).list_messages("seeded").size(), 2u);
}

TEST_F(S3SyncTest, LocalModeReopensItsCacheWithoutDownloading) {
  const pgqrs::Config config = S3Config(key_, Cache("a"), DurabilityMode::kLocal);
  {
    pgqrs::Store a = pgqrs::connect_with_config(config);
    pgqrs::admin(a).install();
    a.queue("jobs");
    pgqrs::as_s3(a).sync();
    Enqueue(a, "jobs", 1);  // unsynced when the store closes
  }
  pgqrs::Store again = pgqrs::connect_with_config(config);
  EXPECT_EQ(pgqrs::as_s3(again).state(), SyncState::kLocalChanges);
  EXPECT_EQ(pgqrs::admin(again).list_messages("jobs").size(), 1u);  // the unsynced write
  pgqrs::as_s3(again).sync();
  EXPECT_EQ(RemoteMessages(key_, "jobs").size(), 1u);
}

TEST_F(S3SyncTest, AFreshLocalInstallIsRefusedAtSyncOverAPublishedObject) {
  // The original pgqrs's "fresh replacement writer": the object exists; a second store of
  // the same config installs on its empty working copy. install() makes no request; sync()
  // is the create-only PUT, and is refused.
  const pgqrs::Config config = S3Config(key_, Cache("a"), DurabilityMode::kLocal);
  pgqrs::Store seed = PublishedLocalStore(config);
  const auto etag = DirectClient().head(key_)->etag;

  pgqrs::Store fresh = pgqrs::connect_with_config(config);
  pgqrs::S3Store sf = pgqrs::as_s3(fresh);
  pgqrs::admin(fresh).install();
  EXPECT_EQ(PutsOf(fresh), 0u);
  EXPECT_EQ(sf.state(), SyncState::kConcurrentChanges);
  std::string msg =
      ExpectThrowMessage<pgqrs::ConflictError>([&] { sf.sync(); }, "fresh install over an object");
  EXPECT_TRUE(ContainsAny(msg, {"conflict"})) << msg;
  EXPECT_TRUE(ContainsAny(msg, {"already exists"})) << msg;
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);  // nothing remote was overwritten
  EXPECT_EQ(sf.state(), SyncState::kConcurrentChanges);
  // The working copy holds only what install() made: snapshot() may replace it.
  sf.snapshot();
  EXPECT_EQ(sf.state(), SyncState::kInSync);
  EXPECT_EQ(pgqrs::admin(fresh).list_messages("seeded").size(), 1u);

  // A fresh working copy with writes of its own: the same refusal, the writes are kept and
  // snapshot() will not throw them away.
  pgqrs::Store other = pgqrs::connect_with_config(config);
  pgqrs::admin(other).install();
  other.queue("mine");
  ExpectThrowMessage<pgqrs::ConflictError>([&] { pgqrs::as_s3(other).sync(); },
                                           "fresh install with writes");
  msg = ExpectThrowMessage<pgqrs::ConflictError>([&] { pgqrs::as_s3(other).snapshot(); },
                                                 "snapshot over writes of a fresh copy");
  EXPECT_TRUE(ContainsAny(msg, {"unsynced writes"})) << msg;
  EXPECT_EQ(pgqrs::admin(other).list_queues().size(), 1u);
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);
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

TEST_F(S3SyncTest, DurableInstallAgainstAnExistingObjectIsRefusedAndOverwritesNothing) {
  // Both stores open while the object does not exist yet. (Local mode refuses at sync():
  // AFreshLocalInstallIsRefusedAtSyncOverAPublishedObject.)
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));
  pgqrs::admin(a).install();
  a.queue("keep");
  Enqueue(a, "keep", 7);
  const auto etag = DirectClient().head(key_)->etag;

  const std::string msg = ExpectThrowMessage<pgqrs::ConflictError>(
      [&] { pgqrs::admin(b).install(); }, "install over an existing object");
  EXPECT_TRUE(ContainsAny(msg, {"already exists"})) << msg;
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);
  auto remote = RemoteMessages(key_, "keep");
  ASSERT_EQ(remote.size(), 1u);
  EXPECT_EQ(remote[0].payload, (pgqrs::json{{"n", 7}}));
  // b now mirrors the object; installing again is the idempotent no-op it is elsewhere.
  EXPECT_NO_THROW(pgqrs::admin(b).install());
  EXPECT_EQ(DirectClient().head(key_)->etag, etag);
}

TEST_F(S3SyncTest, DurableWriteOnAStaleCacheIsAppliedAgainOnTheNewVersion) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  a.queue("jobs");
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));  // same version
  Enqueue(a, "jobs", 1);
  const auto b_puts = PutsOf(b);
  // b's first PUT is refused (a published first); b runs the write again on a's version (H26).
  Enqueue(b, "jobs", 2);
  EXPECT_EQ(PutsOf(b), b_puts + 1);  // one stored version: the refused PUT stored nothing
  auto remote = RemoteMessages(key_, "jobs");
  ASSERT_EQ(remote.size(), 2u);  // a's write survived, b's landed on top of it
  EXPECT_EQ(pgqrs::as_s3(b).state(), SyncState::kInSync);
}

TEST_F(S3SyncTest, AStaleDequeueRunsAgainAndNeverLeasesWhatAnotherStoreHolds) {
  pgqrs::Store a = pgqrs::connect_with_config(S3Config(key_, Cache("a")));
  pgqrs::admin(a).install();
  a.queue("jobs");
  Enqueue(a, "jobs", 1);
  Enqueue(a, "jobs", 2);
  pgqrs::Store b = pgqrs::connect_with_config(S3Config(key_, Cache("b")));
  pgqrs::Consumer consumer_b = b.consumer("jobs");  // registering refreshes b's cache
  pgqrs::Consumer consumer_a = a.consumer("jobs");  // a publishes a version b has not seen
  const auto leased_by_a = consumer_a.dequeue(1);
  ASSERT_EQ(leased_by_a.size(), 1u);
  // b's cache still shows both messages available: its lease of the same first message is
  // refused at the PUT and the whole dequeue runs again on a's version, which leases the other.
  const auto leased_by_b = consumer_b.dequeue(2);
  ASSERT_EQ(leased_by_b.size(), 1u);
  EXPECT_NE(leased_by_b[0].id, leased_by_a[0].id);
  // Both leases are on S3, each held by its own consumer.
  pgqrs::Store fresh = pgqrs::connect_with_config(S3Config(key_, Cache("fresh")));
  for (const auto& m : pgqrs::admin(fresh).list_messages("jobs")) {
    ASSERT_TRUE(m.consumer_worker_id.has_value()) << m.id;
    EXPECT_EQ(*m.consumer_worker_id, m.id == leased_by_a[0].id ? consumer_a.id() : consumer_b.id());
  }
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
