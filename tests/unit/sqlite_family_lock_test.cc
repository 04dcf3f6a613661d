// The SQLite-family drivers (SQLite, and Turso when it is built) under a write lock held by
// another connection: the backend waits up to connection_timeout_seconds, then fails with
// a retryable TimeoutError naming the operation, and nothing is half-done. One test,
// parameterized by driver.
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sqlite_family_test_support.h"

#if PGQRS_TEST_WITH_TURSO
#include "backend/turso/turso_backend.h"
#include "backend/turso/turso_driver.h"
#endif

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers

struct DriverCase {
  std::string name;
  std::function<std::unique_ptr<Backend>(const std::string& path, const pgqrs::Config&)> open;
  // Runs `body` while a second connection to `path`, outside the backend, holds the write
  // lock (BEGIN IMMEDIATE ... ROLLBACK).
  std::function<void(const std::string& path, const std::function<void()>& body)> while_locked;
  // What the TimeoutError message must name besides the operation.
  std::vector<std::string> message_names;
};

void PrintTo(const DriverCase& c, std::ostream* os) { *os << c.name; }

void HoldLock(pgqrs::sqlite_family::Connection& holder, const std::function<void()>& body) {
  holder.exec("BEGIN IMMEDIATE");
  body();
  holder.exec("ROLLBACK");
}

std::vector<DriverCase> Drivers() {
  std::vector<DriverCase> cases;
  cases.push_back(DriverCase{"sqlite",
                             [](const std::string& path, const pgqrs::Config& config) {
                               return open_backend(path, config);
                             },
                             [](const std::string& path, const std::function<void()>& body) {
                               HoldLock(*raw_connection(path), body);
                             },
                             {"create_queue"}});
#if PGQRS_TEST_WITH_TURSO
  cases.push_back(DriverCase{"turso",
                             [](const std::string& path, const pgqrs::Config& config) {
                               return pgqrs::backend::make_turso_backend(
                                   config, pgqrs::backend::parse_dsn("turso://" + path));
                             },
                             [](const std::string& path, const std::function<void()>& body) {
                               // A second connection to the same database (same process), opened as
                               // the backend opens it.
                               pgqrs::turso::TursoOptions options;
                               options.path = path;
                               options.busy_timeout = 100ms;
                               options.experimental_features = pgqrs::turso::kMultiprocessWal;
                               pgqrs::turso::TursoDriver driver(options);
                               HoldLock(*driver.open(), body);
                             },
                             {"create_queue", "turso"}});
#endif
  return cases;
}

class DriverLockTest : public ::testing::TestWithParam<DriverCase> {};
INSTANTIATE_TEST_SUITE_P(Drivers, DriverLockTest, ::testing::ValuesIn(Drivers()),
                         [](const ::testing::TestParamInfo<DriverCase>& param_info) {
                           return param_info.param.name;
                         });

TEST_P(DriverLockTest, ALockHeldTooLongIsATimeoutAndNothingIsHalfDone) {
  ScratchDir dir;
  const std::string path = dir.file("locked.db");
  pgqrs::Config config = test_config();
  config.connection_timeout_seconds = 1;
  auto backend = GetParam().open(path, config);
  backend->install();

  GetParam().while_locked(path, [&] {
    const auto start = std::chrono::steady_clock::now();
    try {
      backend->create_queue("q", kT0);
      FAIL() << "expected TimeoutError";
    } catch (const pgqrs::TimeoutError& e) {
      EXPECT_TRUE(e.retryable());
      for (const auto& name : GetParam().message_names) {
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      }
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LT(elapsed, 5s);
  });
  // Nothing was half-done, and the backend works again once the lock is gone.
  EXPECT_FALSE(backend->find_queue("q").has_value());
  backend->create_queue("q", kT0);
  EXPECT_TRUE(backend->find_queue("q").has_value());
}

// The other side of the wait: a statement that met the lock takes it once it is released,
// and its operation completes as if it had never waited (on Turso the driver, not the
// engine, waits and steps the statement again: BusyWait, decision G8).
TEST_P(DriverLockTest, AnOperationWaitingForALockCompletesWhenItIsReleased) {
  ScratchDir dir;
  const std::string path = dir.file("locked.db");
  auto backend = GetParam().open(path, test_config());
  backend->install();
  std::thread waiter;
  std::exception_ptr error;
  GetParam().while_locked(path, [&] {
    waiter = std::thread([&] {
      try {
        backend->create_queue("q", kT0);
      } catch (...) {
        error = std::current_exception();
      }
    });
    std::this_thread::sleep_for(300ms);  // the waiter meets the lock and waits
  });
  waiter.join();
  if (error) std::rethrow_exception(error);
  EXPECT_TRUE(backend->find_queue("q").has_value());
  EXPECT_EQ(backend->list_queues().size(), 1U);
}

}  // namespace
