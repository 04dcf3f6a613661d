// Out of space (issue 18 part 3): SQLite, Turso and the S3 cache on a full filesystem.
//
// Each test mounts its own small tmpfs (we run as root; skipped with the reason when mount is
// not permitted), puts the database (or the S3 cache) on it, commits some work, then fills
// the filesystem with a filler file. While it is full, enqueue, lease, archive and step
// completion must fail with StorageFullError naming the file, and the database must pass
// PRAGMA integrity_check (read through a raw sqlite3 connection, not through pgqrs). After
// the filler is deleted everything works again and nothing committed before is missing.
// S3 (durable mode, against the S3 test server): a write that cannot be applied to the cache
// fails typed and nothing of it is published.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/scratch_dir.h"
#include "pgqrs/pgqrs.h"
#if PGQRS_TEST_WITH_S3
#include "integration/s3_test_support.h"
#endif

namespace pgqrs_test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using pgqrs::json;

// A tmpfs of `size` mounted on a fresh scratch directory for the object's lifetime.
class Tmpfs {
 public:
  explicit Tmpfs(const std::string& size) {
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      reason_ = std::string("cannot mount a tmpfs (") + std::strerror(errno) +
                "): these tests need root with CAP_SYS_ADMIN to create a small full filesystem";
    }
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& reason() const { return reason_; }
  const fs::path& path() const { return dir_.path(); }

  // Writes a filler file until the filesystem refuses another byte; returns its size.
  std::size_t Fill() {
    const fs::path filler = path() / "filler";
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + filler.string());
    const std::string chunk(64 * 1024, 'x');
    std::size_t total = 0;
    for (std::size_t size : {chunk.size(), std::size_t{4096}, std::size_t{512}, std::size_t{1}}) {
      for (;;) {
        const ssize_t n = ::write(fd, chunk.data(), size);
        if (n <= 0) break;
        total += static_cast<std::size_t>(n);
      }
    }
    ::close(fd);
    return total;
  }
  void Free() { fs::remove(path() / "filler"); }

 private:
  ScratchDir dir_{"pgqrs-oos"};
  bool mounted_ = false;
  std::string reason_;
};

// PRAGMA integrity_check through a raw sqlite3 connection (not pgqrs): "ok" or the problems.
std::string IntegrityCheck(const fs::path& file) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    const std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return "cannot open: " + msg;
  }
  std::string out;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK) {
    out = std::string("cannot check: ") + sqlite3_errmsg(db);
  } else {
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!out.empty()) out += "; ";
      out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (rc != SQLITE_DONE) out += std::string(" (check failed: ") + sqlite3_errmsg(db) + ")";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// Runs `op`, which must throw StorageFullError naming `file`, non-retryable, saying what to do.
template <typename Op>
void ExpectStorageFull(const std::string& what, const fs::path& file, Op&& op) {
  try {
    op();
    ADD_FAILURE() << what << " succeeded on a full filesystem";
  } catch (const pgqrs::StorageFullError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << what << ": " << msg;
    EXPECT_NE(msg.find("Free space"), std::string::npos) << what << ": " << msg;
    EXPECT_FALSE(e.retryable()) << what;
    EXPECT_EQ(pgqrs::to_string(e.code()), "storage_full");
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << " threw something other than StorageFullError: " << e.what();
  }
}

std::string Big(std::size_t n) { return std::string(n, 'p'); }

// ---- SQLite and Turso files ---------------------------------------------------------------

struct FileBackend {
  std::string name;    // test-name suffix
  std::string scheme;  // "sqlite" or "turso"
};
void PrintTo(const FileBackend& b, std::ostream* os) { *os << b.name; }

class OutOfSpaceFileTest : public ::testing::TestWithParam<FileBackend> {
 protected:
  void SetUp() override {
    if (!tmpfs_.mounted()) GTEST_SKIP() << tmpfs_.reason();
  }

  fs::path db() const { return tmpfs_.path() / "queue.db"; }

  pgqrs::Store Open() {
    pgqrs::Config c = pgqrs::Config::from_dsn(GetParam().scheme + "://" + db().string());
    return pgqrs::connect_with_config(c, clock_);
  }

  Tmpfs tmpfs_{"2m"};
  std::shared_ptr<pgqrs::ManualClock> clock_ =
      std::make_shared<pgqrs::ManualClock>(pgqrs::TimePoint(std::chrono::seconds(1'700'000'000)));
};

TEST_P(OutOfSpaceFileTest, WritesFailTypedNothingIsCorruptAndAllWorksOnceSpaceIsFreed) {
  std::set<std::int64_t> acked;  // enqueues that returned
  std::int64_t archived_id = 0, leased_id = 0, run_id = 0, consumer_id = 0;
  {
    pgqrs::Store s = Open();
    pgqrs::admin(s).install();
    s.queue("jobs");
    for (int i = 0; i < 6; ++i) {
      for (auto id : pgqrs::enqueue().message(json{{"i", i}}).to("jobs").execute(s)) {
        acked.insert(id);
      }
    }
    pgqrs::Consumer c = s.consumer("jobs");
    consumer_id = c.id();
    auto leased = c.dequeue_with_vt(2, 3600s);
    ASSERT_EQ(leased.size(), 2u);
    archived_id = leased[0].id;
    leased_id = leased[1].id;
    ASSERT_TRUE(c.archive(archived_id));

    pgqrs::workflow().name("wf").create(s);
    const auto msg = pgqrs::workflow().name("wf").trigger(json{{"n", 1}}).execute(s);
    run_id = pgqrs::run().message(msg).store(s).record().id;
    pgqrs::Run run = pgqrs::run().id(run_id).store(s).execute();
    run.start();
    ASSERT_EQ(run.acquire_step("one").status, pgqrs::StepResult::Status::kExecute);
    run.complete_step("one", 1);

    ASSERT_GT(tmpfs_.Fill(), 0u);

    ExpectStorageFull("enqueue", db(), [&] {
      pgqrs::enqueue().message(json{{"big", Big(64 * 1024)}}).to("jobs").execute(s);
    });
    ExpectStorageFull("small enqueue", db(), [&] {
      for (int i = 0; i < 64; ++i)
        pgqrs::enqueue().message(json{{"i", 100 + i}}).to("jobs").execute(s);
    });
    ExpectStorageFull("lease", db(), [&] {
      for (int i = 0; i < 64; ++i) c.dequeue_with_vt(1, 3600s);
    });
    ExpectStorageFull("archive", db(), [&] { c.archive(leased_id); });
    ExpectStorageFull("step completion", db(), [&] {
      ASSERT_EQ(run.acquire_step("two").status, pgqrs::StepResult::Status::kExecute);
      run.complete_step("two", json{{"blob", Big(64 * 1024)}});
    });

    // Reads still answer while the disk is full.
    const auto all = pgqrs::admin(s).list_messages("jobs", 1000, /*include_archived=*/true);
    std::set<std::int64_t> seen;
    for (const auto& m : all) seen.insert(m.id);
    EXPECT_EQ(seen, acked) << "exactly the acknowledged enqueues, none of the failed ones";
  }
  if (GetParam().scheme == "sqlite") {
    // (A raw sqlite3 connection cannot open a Turso file on a full disk: it must write the
    // wal-index of Turso's WAL first. Turso's file is checked below, before pgqrs opens it.)
    EXPECT_EQ(IntegrityCheck(db()), "ok") << "while the disk is full";
  }

  tmpfs_.Free();
  EXPECT_EQ(IntegrityCheck(db()), "ok") << "after space was freed, before pgqrs opens it";
  std::optional<pgqrs::Store> reopened(Open());
  const pgqrs::Store& s = *reopened;
  const auto all = pgqrs::admin(s).list_messages("jobs", 1000, /*include_archived=*/true);
  std::set<std::int64_t> seen;
  for (const auto& m : all) {
    seen.insert(m.id);
    if (m.id == archived_id) {
      EXPECT_TRUE(m.archived_at.has_value());
    }
    if (m.id == leased_id) {
      EXPECT_FALSE(m.archived_at.has_value()) << "its archive failed";
    }
  }
  EXPECT_EQ(seen, acked) << "nothing acknowledged is missing after space is freed";
  const auto held = pgqrs::admin(s).worker_messages(consumer_id);
  ASSERT_EQ(held.size(), 1u) << "the lease taken before the disk filled is still held";
  EXPECT_EQ(held[0].id, leased_id);

  // Everything that failed works now.
  const auto fresh = pgqrs::enqueue().message(json{{"big", Big(64 * 1024)}}).to("jobs").execute(s);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_FALSE(acked.count(fresh[0]));
  pgqrs::Consumer c2 = s.consumer("jobs");
  EXPECT_EQ(c2.dequeue_with_vt(10, 3600s).size(), 5u) << "4 never leased + the new one";
  pgqrs::Run run = pgqrs::run().id(run_id).store(s).execute();
  run.start();
  auto one = run.acquire_step("one");
  EXPECT_EQ(one.status, pgqrs::StepResult::Status::kSkipped) << "the completed step replays";
  EXPECT_EQ(one.value, json(1));
  ASSERT_EQ(run.acquire_step("two").status, pgqrs::StepResult::Status::kExecute)
      << "the step whose completion failed runs again";
  run.complete_step("two", json{{"blob", Big(64 * 1024)}});
  EXPECT_TRUE(run.complete(json{{"ok", true}}));
  EXPECT_EQ(pgqrs::run().id(run_id).store(s).get(), (json{{"ok", true}}));
  reopened.reset();
  EXPECT_EQ(IntegrityCheck(db()), "ok") << "after space was freed";
}

std::vector<FileBackend> FileBackends() {
  std::vector<FileBackend> out{{"sqlite_file", "sqlite"}};
#if PGQRS_TEST_WITH_TURSO
  out.push_back({"turso", "turso"});
#endif
  return out;
}

INSTANTIATE_TEST_SUITE_P(Backends, OutOfSpaceFileTest, ::testing::ValuesIn(FileBackends()),
                         [](const auto& p) { return p.param.name; });

// ---- S3: the cache directory on the full filesystem -------------------------------------

#if PGQRS_TEST_WITH_S3
class OutOfSpaceS3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    PGQRS_SKIP_UNLESS_S3();
    if (!tmpfs_.mounted()) GTEST_SKIP() << tmpfs_.reason();
  }
  void TearDown() override {
    if (std::getenv("PGQRS_TEST_S3_BUCKET") != nullptr) DirectClient().remove(key_);
  }

  fs::path cache_dir() const { return tmpfs_.path() / "cache"; }

  // The SQLite files in the cache directory (the working copy; names are internal).
  std::vector<fs::path> CacheDatabases() const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::recursive_directory_iterator(cache_dir())) {
      if (!entry.is_regular_file() || entry.file_size() < 100) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      char magic[16] = {};
      in.read(magic, sizeof magic);
      if (std::memcmp(magic, "SQLite format 3", 16) == 0) out.push_back(entry.path());
    }
    return out;
  }

  std::set<int> RemoteIs() const {
    std::set<int> out;
    for (const auto& m : RemoteMessages(key_, "jobs")) out.insert(m.payload.at("i").get<int>());
    return out;
  }

  Tmpfs tmpfs_{"2m"};
  std::string key_ = UniqueKey("out-of-space");
};

TEST_F(OutOfSpaceS3Test, DurableWriteThatCannotBeAppliedToTheCacheFailsTypedAndIsNotPublished) {
  std::set<int> acked;
  {
    pgqrs::Store s = pgqrs::connect_with_config(S3Config(key_, cache_dir()));
    pgqrs::admin(s).install();
    s.queue("jobs");
    for (int i = 0; i < 4; ++i) {
      pgqrs::enqueue().message(json{{"i", i}}).to("jobs").execute(s);
      acked.insert(i);
    }
    pgqrs::Consumer c = s.consumer("jobs");
    auto leased = c.dequeue_with_vt(2, 3600s);
    ASSERT_EQ(leased.size(), 2u);
    ASSERT_TRUE(c.archive(leased[0].id));
    const auto dbs = CacheDatabases();
    ASSERT_EQ(dbs.size(), 1u) << "one working copy in " << cache_dir();

    ASSERT_GT(tmpfs_.Fill(), 0u);
    ExpectStorageFull("enqueue", dbs[0], [&] {
      pgqrs::enqueue().message(json{{"i", 100}, {"big", Big(64 * 1024)}}).to("jobs").execute(s);
    });
    ExpectStorageFull("archive", dbs[0], [&] { c.archive(leased[1].id); });
    EXPECT_EQ(RemoteIs(), acked) << "nothing of the failed writes was published";
    EXPECT_EQ(IntegrityCheck(dbs[0]), "ok") << "the cache while the disk is full";

    tmpfs_.Free();
    pgqrs::enqueue().message(json{{"i", 4}, {"big", Big(64 * 1024)}}).to("jobs").execute(s);
    acked.insert(4);
    EXPECT_TRUE(c.archive(leased[1].id)) << "the lease survived the failed archive";
  }
  EXPECT_EQ(RemoteIs(), acked) << "after space was freed: every acknowledged write, once";
  for (const auto& db : CacheDatabases()) EXPECT_EQ(IntegrityCheck(db), "ok") << db;
}
#endif

}  // namespace
}  // namespace pgqrs_test
