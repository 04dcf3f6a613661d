// SQLite-family backend unit tests: many threads and many processes on one database file,
// lock timeouts and the connection pool.
#include "sqlite_family_test_support.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend/sqlite_family/pool.h"

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers

// ---- concurrency --------------------------------------------------------------------------

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
