// The conformance suite: behaviour tests written once against the public API and run on
// every storage backend (ARCHITECTURE.md rule 4).
//
// Each test file derives a fixture from ConformanceTest and instantiates it with
// PGQRS_INSTANTIATE_CONFORMANCE(Fixture). The parameter is a BackendCase: a name and a
// function that makes a Config for a fresh, empty database. The fixture gives every test a
// fresh store, connected with a shared ManualClock (time is injected, ARCHITECTURE.md
// rule 5: nothing here sleeps to make time pass) and with the schema installed.
//
// ADDING A BACKEND (Postgres, Turso, S3): add one entry to AllBackends() in
// backend_fixture.cc. Nothing else in the suite changes.
//
//   - postgres: `BackendCase{"postgres", "postgres", /*persistent=*/true, make, cleanup,
//     [] { return SkipReasonIfEnvMissing("PGQRS_TEST_POSTGRES_DSN"); }}` where `make` reads
//     the DSN from PGQRS_TEST_POSTGRES_DSN, creates a fresh schema named after the scratch
//     dir (e.g. "pgqrs_t_<random hex>", created with libpq/psql since the schema must
//     exist, SPEC §1) and returns a Config with `dsn` and `schema` set; `cleanup` runs
//     `DROP SCHEMA ... CASCADE` after the test.
//   - turso: `make` returns Config::from_dsn("turso://" + (scratch / "queue.db").string()),
//     i.e. turso:///tmp/pgqrs-conf-XXXX/queue.db. No env var needed; optionally skip when
//     the build has PGQRS_WITH_TURSO off.
//   - s3: skip unless PGQRS_TEST_S3_BUCKET (and AWS_ENDPOINT_URL for a local moto server)
//     are set; `make` returns s3://$PGQRS_TEST_S3_BUCKET/<scratch-dir-name>.sqlite with
//     `s3.cache_dir = scratch / "cache"`, and `cleanup` deletes the object.
//
// A skip must carry a written reason (the string returned by `unavailable`).
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/expect_throw.h"
#include "common/scratch_dir.h"

#include "pgqrs/pgqrs.h"

namespace pgqrs_test {

// One storage backend configuration the suite runs on.
struct BackendCase {
  std::string name;        // GoogleTest parameter name, e.g. "sqlite_file"
  std::string backend;     // expected Store::backend_name(): "sqlite", "postgres", ...
  bool persistent = true;  // a second store on the same Config sees the same data
  // Config for a fresh, empty database. `scratch` is a fresh, empty temp directory that is
  // removed after the test.
  std::function<pgqrs::Config(const std::filesystem::path& scratch)> make_config;
  // Optional: undoes what make_config created outside `scratch` (e.g. a Postgres schema).
  std::function<void(const pgqrs::Config&)> cleanup;
  // Optional: returns the reason the backend cannot run here (the test is skipped with
  // it), or nullopt when it can.
  std::function<std::optional<std::string>()> unavailable;
};

std::ostream& operator<<(std::ostream& os, const BackendCase& c);

// Every backend the suite is instantiated for.
std::vector<BackendCase> AllBackends();
std::string BackendCaseName(const ::testing::TestParamInfo<BackendCase>& info);

// "<var> is not set: ..." when the environment variable is missing or empty.
std::optional<std::string> SkipReasonIfEnvMissing(const char* var);

// A fresh directory under the system temp dir, removed (recursively) on destruction.
using TempDir = ScratchDir;

// Base fixture for every conformance test.
class ConformanceTest : public ::testing::TestWithParam<BackendCase> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A Config for another fresh, empty database of the current backend, with the suite's
  // defaults (small poll interval) applied.
  pgqrs::Config FreshConfig();
  // Another fresh store (own database) on the shared clock, after `tweak` is applied to
  // its config. Installs the schema unless `install` is false. Kept alive until TearDown.
  pgqrs::Store MakeStore(const std::function<void(pgqrs::Config&)>& tweak = {},
                         bool install = true);

  pgqrs::Admin admin() const { return pgqrs::admin(*store_); }
  pgqrs::Admin admin(const pgqrs::Store& s) const { return pgqrs::admin(s); }
  const pgqrs::Store& store() const { return *store_; }
  pgqrs::TimePoint now() const { return clock_->now(); }
  void Advance(pgqrs::Duration d) { clock_->advance(d); }
  // Waits (real time, bounded by `limit`) until at least `n` threads are blocked on the test
  // clock, i.e. the engine is idle, waiting for time to pass or for a wake-up. An idle poll
  // loop is two waiters (the loop and its lease keeper); a result(timeout) wait is one.
  bool WaitForWaiters(std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Drives a wait (running as `fut`) that must end when the clock has moved `after` from
  // now: waits until `waiters` threads block on the clock, moves it 1 ms short of `after`
  // (the wait must still be running), then the last 1 ms (it must end within 5 s of real
  // time). Returns "" when it did, else what went wrong.
  template <class T>
  std::string DriveToDeadline(std::future<T>& fut, pgqrs::Duration after, std::size_t waiters) {
    using namespace std::chrono_literals;
    if (!WaitForWaiters(waiters)) return "the wait never blocked on the clock";
    Advance(after - 1ms);
    if (WaitForWaiters(waiters) && fut.wait_for(0ms) == std::future_status::ready) {
      return "it ended 1 ms before its deadline on the clock";
    }
    Advance(1ms);
    if (fut.wait_for(5s) != std::future_status::ready) {
      return "it did not end once the clock reached its deadline";
    }
    return "";
  }

  // Creates queue `name` on `s` (default: the test's store).
  pgqrs::QueueInfo MakeQueue(const std::string& name);
  pgqrs::QueueInfo MakeQueue(const pgqrs::Store& s, const std::string& name);
  // Enqueues {"n": i} for i in [0, count) to `queue`; returns the ids.
  std::vector<std::int64_t> EnqueueNumbers(const pgqrs::Store& s, const std::string& queue,
                                           int count);
  std::vector<std::int64_t> EnqueueNumbers(const std::string& queue, int count) {
    return EnqueueNumbers(*store_, queue, count);
  }
  // Every message row of `queue` (archived included).
  std::vector<pgqrs::QueueMessage> AllMessages(const pgqrs::Store& s, const std::string& queue);
  std::vector<pgqrs::QueueMessage> AllMessages(const std::string& queue) {
    return AllMessages(*store_, queue);
  }

  std::shared_ptr<pgqrs::ManualClock> clock_;
  std::optional<pgqrs::Store> store_;
  pgqrs::Config config_;  // the config store_ was opened with

 private:
  struct Opened {
    pgqrs::Config config;
    std::unique_ptr<TempDir> dir;
  };
  std::vector<Opened> opened_;
  std::vector<pgqrs::Store> extra_stores_;
};

// Instantiates a conformance fixture for every backend in AllBackends().
#define PGQRS_INSTANTIATE_CONFORMANCE(Fixture)                                                  \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture, ::testing::ValuesIn(::pgqrs_test::AllBackends()), \
                           ::pgqrs_test::BackendCaseName)

// ---- helpers shared by the test files --------------------------------------------------

// Lower-cased copy of `s` (ASCII).
std::string Lower(std::string_view s);
// True if `text` (case-insensitively) contains any of `needles`.
bool ContainsAny(std::string_view text, const std::vector<std::string>& needles);

// Waits (real time) for `fut` for at most `limit`; true if it became ready.
template <class T>
bool WaitReady(std::future<T>& fut, std::chrono::milliseconds limit) {
  return fut.wait_for(limit) == std::future_status::ready;
}

// Polls `pred` every few milliseconds (real time) until it is true or `limit` passes. For
// waiting on another thread's work; never to let engine time pass (move the clock instead).
bool EventuallyTrue(const std::function<bool()>& pred, std::chrono::milliseconds limit);

// Milliseconds between two time points (a - b).
inline long long MillisBetween(pgqrs::TimePoint a, pgqrs::TimePoint b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(a - b).count();
}

}  // namespace pgqrs_test
