// Group commit of the SQLite family (src/backend/sqlite_family/group_commit.h): leases and
// acknowledgements of concurrent threads share one transaction, each in its own savepoint.
// On every SQLite-family driver (SQLite file and memory, Turso when built); the S3 store is
// gated and does not group (executor.h). A group is formed deterministically: the test holds
// the process's writer (a write transaction of its own) until every request is queued
// behind it, so the next leader takes them all at once. Time is injected (kT0).
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend/sqlite_family/sql_backend.h"
#include "sqlite_family_test_support.h"

#if PGQRS_TEST_WITH_TURSO
#include "backend/turso/turso_backend.h"
#include "backend/turso/turso_driver.h"
#endif

namespace pgqrs::sqlite_family {
// Declared a friend by SqlFamilyBackend: the test's way to its executor.
struct SqlFamilyTestAccess {
  static Executor& executor(backend::Backend& b) {
    return dynamic_cast<SqlFamilyBackend&>(b).exec_;
  }
};
}  // namespace pgqrs::sqlite_family

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers
using pgqrs::sqlite_family::Executor;
using pgqrs::sqlite_family::Session;
using pgqrs::sqlite_family::SqlFamilyTestAccess;
using pgqrs_test::IdsOf;

struct DriverCase {
  std::string name;
  // Opens the store at `path` (ignored for memory) with the schema installed.
  std::function<std::unique_ptr<Backend>(const std::string& path, const pgqrs::Config& config)>
      open;
  bool file = true;  // another store on the same path sees the same database
  // Opens a second connection to `path` outside the store (file databases only).
  std::function<std::unique_ptr<pgqrs::sqlite_family::Connection>(const std::string& path)> raw;
};

void PrintTo(const DriverCase& c, std::ostream* os) { *os << c.name; }

std::vector<DriverCase> Drivers() {
  std::vector<DriverCase> cases;
  cases.push_back({"sqlite_file",
                   [](const std::string& path, const pgqrs::Config& config) {
                     auto b = open_backend(path, config);
                     b->install();
                     return b;
                   },
                   /*file=*/true, [](const std::string& path) { return raw_connection(path); }});
  cases.push_back({"sqlite_memory",
                   [](const std::string&, const pgqrs::Config& config) {
                     auto b = open_backend(":memory:", config);
                     b->install();
                     return b;
                   },
                   /*file=*/false, nullptr});
#if PGQRS_TEST_WITH_TURSO
  cases.push_back({"turso",
                   [](const std::string& path, const pgqrs::Config& config) {
                     auto b = pgqrs::backend::make_turso_backend(
                         config, pgqrs::backend::parse_dsn("turso://" + path));
                     b->install();
                     return b;
                   },
                   /*file=*/true,
                   [](const std::string& path) {
                     pgqrs::turso::TursoOptions options;
                     options.path = path;
                     options.busy_timeout = std::chrono::milliseconds(100);
                     options.experimental_features = pgqrs::turso::kMultiprocessWal;
                     return pgqrs::turso::TursoDriver(options).open();
                   }});
#endif
  return cases;
}

class GroupCommitTest : public ::testing::TestWithParam<DriverCase> {
 protected:
  void SetUp() override {
    path_ = dir_.file("group.db");
    backend_ = GetParam().open(path_, test_config());
    backend_->create_queue("work", kT0);
  }
  Backend& be() { return *backend_; }
  Executor& exec() { return SqlFamilyTestAccess::executor(be()); }

  std::int64_t consumer(const std::string& name) {
    return be().register_worker(name, pgqrs::WorkerKind::kConsumer, "work", "host", 1, kT0).id;
  }
  pgqrs::backend::DequeueParams lease_params(std::int64_t worker, std::uint32_t limit,
                                             std::string queue = "work") {
    pgqrs::backend::DequeueParams p;
    p.queue = std::move(queue);
    p.limit = limit;
    p.lease = std::chrono::seconds(30);
    p.consumer_worker_id = worker;
    p.now = kT0;
    p.max_read_ct = 100;
    return p;
  }

  // Runs every job on its own thread while this test holds the process's writer, releases
  // it once all of them are queued for group commit, and joins them: they run as one group.
  void RunAsOneGroup(const std::vector<std::function<void()>>& jobs) {
    std::vector<std::jthread> threads;
    exec().write("test: hold the writer", [&](Session&) {
      if (!threads.empty()) return;  // a retried attempt: the jobs are already queued
      for (const auto& job : jobs) threads.emplace_back(job);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (exec().grouped_waiting() < jobs.size()) {
        ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "requests never queued";
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    threads.clear();  // joins
  }

  ScratchDir dir_;
  std::string path_;
  std::unique_ptr<Backend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Drivers, GroupCommitTest, ::testing::ValuesIn(Drivers()),
                         [](const ::testing::TestParamInfo<DriverCase>& param_info) {
                           return param_info.param.name;
                         });

// Eight consumers lease and acknowledge (archive the last batch while leasing the next, as
// the engine's poll loop does) until the queue is empty: every message is archived exactly
// once, and the writes were committed in groups (fewer transactions than requests).
TEST_P(GroupCommitTest, ConcurrentConsumersGetEveryMessageExactlyOnce) {
  constexpr int kMessages = 1200;
  constexpr int kThreads = 8;
  Fill(be(), "work", kMessages);
  std::vector<std::int64_t> workers;
  for (int t = 0; t < kThreads; ++t) workers.push_back(consumer("c" + std::to_string(t)));
  const auto before = exec().group_stats();

  std::vector<std::vector<std::int64_t>> archived(kThreads);
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          std::vector<std::int64_t> held;
          for (;;) {
            const auto got = be().archive_and_dequeue(held, lease_params(workers[t], 5));
            for (std::size_t i = 0; i < held.size(); ++i) {
              if (!got.archived[i]) throw std::runtime_error("an archive of a held lease failed");
            }
            archived[t].insert(archived[t].end(), held.begin(), held.end());
            held = IdsOf(got.leased);
            if (held.empty()) return;
          }
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << "consumer " << t << ": " << e.what();
        }
      });
    }
  }
  ASSERT_EQ(failures.load(), 0);
  std::multiset<std::int64_t> all;
  for (const auto& ids : archived) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), all.size());  // no twice
  const auto metrics = be().queue_metrics("work", kT0, 100);
  EXPECT_EQ(metrics.archived, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(metrics.pending + metrics.leased + metrics.delayed + metrics.dead, 0U);

  const auto after = exec().group_stats();
  const auto requests = after.requests - before.requests;
  EXPECT_GE(requests, static_cast<std::uint64_t>(kMessages / 5));
  EXPECT_LE(after.groups - before.groups, requests);
}

// A group whose members succeed, find their leases expired, and fail: each gets its own
// outcome; the failures leave nothing behind (a failed request's earlier writes are rolled
// back to its savepoint) and the others are committed, durably, by one transaction.
TEST_P(GroupCommitTest, OneFailingRequestFailsAloneAndTheOthersCommit) {
  Fill(be(), "work", 20);
  const auto a = consumer("a");        // its lease will have expired
  const auto b = consumer("b");        // acknowledges its lease
  const auto c = consumer("c");        // archives, then leases from a queue that is gone
  const auto d = consumer("d");        // leases
  const auto stopped = consumer("s");  // stopped: may not lease
  be().change_worker_status(stopped, {pgqrs::WorkerStatus::kReady}, pgqrs::WorkerStatus::kStopped,
                            kT0);
  const auto a_ids = IdsOf(be().dequeue(lease_params(a, 3)));
  const auto b_ids = IdsOf(be().dequeue(lease_params(b, 3)));
  const auto c_ids = IdsOf(be().dequeue(lease_params(c, 3)));
  ASSERT_EQ(a_ids.size() + b_ids.size() + c_ids.size(), 9U);
  const auto before = exec().group_stats();

  std::vector<bool> a_archived, b_archived;
  std::vector<std::int64_t> d_leased;
  std::exception_ptr c_error, stopped_error;
  RunAsOneGroup({
      [&] { a_archived = be().archive(a_ids, a, kT0 + std::chrono::minutes(1)); },
      [&] { b_archived = be().archive(b_ids, b, kT0 + std::chrono::seconds(1)); },
      [&] {
        try {
          be().archive_and_dequeue(c_ids, lease_params(c, 2, "no-such-queue"));
        } catch (...) {
          c_error = std::current_exception();
        }
      },
      [&] { d_leased = IdsOf(be().dequeue(lease_params(d, 4))); },
      [&] {
        try {
          be().dequeue(lease_params(stopped, 1));
        } catch (...) {
          stopped_error = std::current_exception();
        }
      },
  });

  const auto after = exec().group_stats();
  EXPECT_EQ(after.groups - before.groups, 1U) << "the five requests were not one group";
  EXPECT_EQ(after.requests - before.requests, 5U);

  EXPECT_EQ(a_archived, std::vector<bool>(3, false));  // lease expired: not applied
  EXPECT_EQ(b_archived, std::vector<bool>(3, true));
  EXPECT_EQ(d_leased.size(), 4U);
  ASSERT_TRUE(c_error);
  EXPECT_THROW(std::rethrow_exception(c_error), pgqrs::QueueNotFoundError);
  ASSERT_TRUE(stopped_error);
  EXPECT_THROW(std::rethrow_exception(stopped_error), pgqrs::StateTransitionError);

  // What the group committed, as another store on the same file sees it (durable).
  std::unique_ptr<Backend> other;
  if (GetParam().file) other = GetParam().open(path_, test_config());
  Backend& check = GetParam().file ? *other : be();
  for (auto id : b_ids) EXPECT_TRUE(check.get_message(id)->archived_at.has_value()) << id;
  for (auto id : a_ids) EXPECT_FALSE(check.get_message(id)->archived_at.has_value()) << id;
  // c's archive ran before its lease failed, in the same request: rolled back with it.
  for (auto id : c_ids) {
    const auto m = check.get_message(id);
    EXPECT_FALSE(m->archived_at.has_value()) << id;
    EXPECT_EQ(m->consumer_worker_id, c) << id;
  }
  for (auto id : d_leased) EXPECT_EQ(check.get_message(id)->consumer_worker_id, d) << id;
  EXPECT_TRUE(be().leased_messages(stopped, kT0).empty());
}

// A request alone in its group is its own transaction: when it fails, nothing it wrote
// before the failure is committed (as for every write of the family).
TEST_P(GroupCommitTest, AFailingRequestAloneCommitsNothing) {
  Fill(be(), "work", 3);
  const auto c = consumer("c");
  const auto ids = IdsOf(be().dequeue(lease_params(c, 3)));
  EXPECT_THROW(be().archive_and_dequeue(ids, lease_params(c, 1, "no-such-queue")),
               pgqrs::QueueNotFoundError);
  for (auto id : ids) EXPECT_FALSE(be().get_message(id)->archived_at.has_value());
  EXPECT_EQ(be().archive(ids, c, kT0), std::vector<bool>(3, true));
}

// While another connection holds the file's write lock past the budget, every waiting
// request fails with its own TimeoutError (the leader's, then the next one's, each after its
// own budget): nothing is wedged behind a failed leader, and writes work once the lock is gone.
TEST_P(GroupCommitTest, WhenTheFileStaysLockedEachRequestTimesOutAndTheQueueRecovers) {
  if (!GetParam().file) GTEST_SKIP() << "a memory database has no file lock to hold";
  pgqrs::Config config = test_config();
  config.connection_timeout_seconds = 1;
  backend_ = GetParam().open(path_, config);
  Fill(be(), "work", 4);
  const auto c = consumer("c");

  auto holder = GetParam().raw(path_);
  holder->exec("BEGIN IMMEDIATE");
  std::atomic<int> timeouts{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&] {
        try {
          be().dequeue(lease_params(c, 1));
        } catch (const pgqrs::TimeoutError&) {
          ++timeouts;
        }
      });
    }
  }
  holder->exec("ROLLBACK");
  EXPECT_EQ(timeouts.load(), 3);
  EXPECT_EQ(exec().grouped_waiting(), 0U);
  EXPECT_EQ(be().dequeue(lease_params(c, 4)).size(), 4U);
}

}  // namespace
