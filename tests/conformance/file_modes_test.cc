// Database and cache files are private to their owner (issue 18, "Files and secrets"):
// files 0600 and directories pgqrs creates 0700, whatever the process umask, on every
// backend that keeps files (SQLite, Turso, the S3 cache). The umask is opened wide (000)
// for the test, so a file created with the default mode would be world-readable.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/scratch_dir.h"
#include "pgqrs/pgqrs.h"

namespace {

namespace fs = std::filesystem;

class FileModesTest : public ::testing::Test {
 protected:
  void SetUp() override { old_umask_ = ::umask(0); }
  void TearDown() override { ::umask(old_umask_); }

  // Installs, enqueues, leases and archives once, so every file the backend keeps exists.
  static void Use(const pgqrs::Store& store) {
    pgqrs::admin(store).install();
    store.queue("q");
    pgqrs::enqueue().message({{"n", 1}}).to("q").execute(store);
    pgqrs::dequeue().from("q").handle([](const pgqrs::QueueMessage&) {}).execute(store);
  }

  // Every file under `root` is 0600 or stricter, every directory 0700 or stricter (those
  // pgqrs created: `root` itself is the test's).
  static void ExpectPrivate(const fs::path& root) {
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      struct stat st {};
      ASSERT_EQ(::stat(entry.path().c_str(), &st), 0) << entry.path();
      EXPECT_EQ(st.st_mode & 077, 0u)
          << entry.path() << " has mode " << std::oct << (st.st_mode & 0777);
      if (entry.is_regular_file()) ++files;
    }
    EXPECT_GT(files, 0) << "no file was created under " << root;
  }

  mode_t old_umask_ = 0;
  pgqrs_test::ScratchDir scratch_{"pgqrs-modes"};
  fs::path dir_ = scratch_.path();
};

TEST_F(FileModesTest, SqliteDatabaseAndItsWalAreOwnerOnly) {
  {
    pgqrs::Store store = pgqrs::connect("sqlite://" + (dir_ / "app.db").string());
    Use(store);
    EXPECT_TRUE(fs::exists(dir_ / "app.db-wal"));
    ExpectPrivate(dir_);
  }
  ExpectPrivate(dir_);
}

#if PGQRS_TEST_WITH_TURSO
TEST_F(FileModesTest, TursoDatabaseAndItsWalAreOwnerOnly) {
  {
    pgqrs::Store store = pgqrs::connect("turso://" + (dir_ / "app.db").string());
    Use(store);
    ExpectPrivate(dir_);
  }
  ExpectPrivate(dir_);
}
#endif

#if PGQRS_TEST_WITH_S3
TEST_F(FileModesTest, S3CacheDirectoriesAndFilesAreOwnerOnly) {
  const char* bucket = std::getenv("PGQRS_TEST_S3_BUCKET");
  if (bucket == nullptr || std::getenv("AWS_ENDPOINT_URL") == nullptr) {
    GTEST_SKIP() << "no S3 server (PGQRS_TEST_S3_BUCKET / AWS_ENDPOINT_URL): run under "
                    "scripts/s3-test-server";
  }
  pgqrs::Config config = pgqrs::Config::from_dsn(std::string("s3://") + bucket + "/modes-" +
                                                 dir_.filename().string() + ".sqlite");
  config.s3.cache_dir = (dir_ / "cache" / "nested").string();
  {
    pgqrs::Store store = pgqrs::connect_with_config(config);
    Use(store);
  }
  ExpectPrivate(dir_ / "cache");
}
#endif

}  // namespace
