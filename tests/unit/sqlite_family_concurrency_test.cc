// SQLite driver unit tests: processes sharing one database file, the shared in-memory
// database, and the connection pool. (Threads on one backend are a contract of every
// backend: tests/conformance/contract_concurrency_test.cc.)
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/sqlite_family/pool.h"
#include "backend/sqlite_family/wal_rewind_schedule.h"
#include "common/process.h"
#include "sqlite_family_test_support.h"

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers

// ---- concurrency --------------------------------------------------------------------------

TEST(SqliteBackendConcurrency, ProcessesSharingOneFileNeverShareAMessage) {
  constexpr int kMessages = 600;
  constexpr int kProcesses = 3;
  ScratchDir dir;
  const std::string path = dir.file("processes.db");
  {
    auto backend = installed_backend(path);
    backend->create_queue("work", kT0);
    Fill(*backend, "work", kMessages);
  }  // closed before fork: children open their own connections

  // Each child drains with its own backend and reports the ids it archived, one a line.
  std::vector<std::unique_ptr<pgqrs_test::ForkedChild>> children;
  for (int i = 0; i < kProcesses; ++i) {
    children.push_back(std::make_unique<pgqrs_test::ForkedChild>([&path, i] {
      auto backend = open_backend(path);
      std::string out;
      for (auto id : Drain(*backend, "work", "proc-" + std::to_string(i))) {
        out += std::to_string(id) + "\n";
      }
      return out;
    }));
    ASSERT_TRUE(children.back()->started());
  }
  std::set<std::int64_t> all;
  std::size_t total = 0;
  for (auto& child : children) {
    const auto result = child->wait();
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::istringstream in(result.output);
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
  Fill(*backend, "work", 300);
  std::vector<std::vector<std::int64_t>> got(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] { got[t] = Drain(*backend, "work", "c" + std::to_string(t)); });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> all;
  for (const auto& ids : got) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 300U);
  EXPECT_EQ(backend->queue_metrics("work", kT0, 5).archived, 300U);
}

// A reader that never pauses (a dashboard, the change watcher, another process polling)
// must not make the write-ahead log grow without bound: SQLite can only rewind the log
// when no reader is on it, so the writer waits for that moment once the log is long
// (decision G7). Without that, this workload left a WAL of over 100 MiB.
TEST(SqliteBackendConcurrency, WriteAheadLogStaysBoundedUnderContinuousReads) {
  ScratchDir dir;
  const std::string path = dir.file("wal.db");
  auto backend = installed_backend(path);
  long reads = 0;
  const auto largest = pgqrs_test::LargestWalUnderContinuousReads(
      *backend, [&] { return open_backend(path); }, path + "-wal", reads);
  EXPECT_GT(reads, 100);
  // Rewound once it passes ~16 MiB; journal_size_limit cuts the file back to 32 MiB.
  EXPECT_LE(largest, std::uintmax_t{40} << 20) << "the WAL reached " << (largest >> 20) << " MiB";
}

// The schedule both drivers follow to rewind the log (decision G7): a try that timed out
// makes the next one wait for more log and wait longer, capped; a rewound log starts over.
TEST(WalRewindSchedule, ATimedOutTryDefersTheNextAndDoublesItsWaitUpToTheCap) {
  using pgqrs::sqlite_family::WalRewindSchedule;
  using std::chrono::milliseconds;
  WalRewindSchedule schedule(4000, 1000);
  EXPECT_FALSE(schedule.due(3999));
  ASSERT_TRUE(schedule.due(4000));
  EXPECT_EQ(schedule.wait(), milliseconds(20));

  schedule.timed_out(4000);
  EXPECT_FALSE(schedule.due(4999));  // no wait on every commit while readers hold the log
  ASSERT_TRUE(schedule.due(5000));
  EXPECT_EQ(schedule.wait(), milliseconds(40));
  schedule.timed_out(5000);
  ASSERT_TRUE(schedule.due(6000));
  EXPECT_EQ(schedule.wait(), milliseconds(80));
  schedule.timed_out(6000);
  ASSERT_TRUE(schedule.due(7000));
  EXPECT_EQ(schedule.wait(), WalRewindSchedule::kMaxWait);

  EXPECT_FALSE(schedule.due(10));  // another connection rewound the log
  ASSERT_TRUE(schedule.due(4000));
  EXPECT_EQ(schedule.wait(), milliseconds(20));
  schedule.timed_out(4000);
  schedule.rewound();
  ASSERT_TRUE(schedule.due(4000));
  EXPECT_EQ(schedule.wait(), milliseconds(20));
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
