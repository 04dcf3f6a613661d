// Flow control (issue 14) across real OS processes (pgqrs_queue_worker): the limits are
// enforced by the database, so they hold whatever the number of processes.
//  - 4 consumers drain a queue with concurrency=3; the test samples the leased count from the
//    database the whole time: never more than 3;
//  - per-key limit (key_concurrency=1) under contention: never two leases of one key;
//  - rate limit N per period: over ANY window of one period, at most N leases (checked on
//    every lease's dequeued_at afterwards, the same clock the database enforced it with);
//  - dedup under concurrent enqueues: 4 producers enqueue the same keys at once; one live
//    message per key.
// Backends: sqlite and turso (one file), postgres and pgbouncer (skipped with that reason
// unless PGQRS_TEST_POSTGRES_DSN / PGQRS_TEST_PGBOUNCER_DSN are set). S3 is not here: an S3
// store is one writer per object (docs/s3.md), its SQL is the SQLite family's, covered above.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#if PGQRS_TEST_WITH_POSTGRES
#include "integration/pg_admin.h"
#endif
#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

constexpr auto kTimeout = std::chrono::minutes(4);

// One database every process of a test reaches.
struct Target {
  std::string dsn;
  std::vector<std::string> env;  // for the worker processes
  std::string schema;            // postgres only
#if PGQRS_TEST_WITH_POSTGRES
  std::unique_ptr<PgAdmin> pg;  // drops the schema at the end
  ~Target() {
    if (pg && !schema.empty()) pg->DropSchema(schema);
  }
#endif
  pgqrs::Store Open() const {
    pgqrs::Config config = pgqrs::Config::from_dsn(dsn);
    if (!schema.empty()) config.schema = schema;
    return pgqrs::connect_with_config(config);
  }
};

class FlowMultiprocessTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Nullptr after GTEST_SKIP (the reason is recorded).
  std::unique_ptr<Target> MakeTarget() {
    auto t = std::make_unique<Target>();
    const std::string& backend = GetParam();
    if (backend == "sqlite" || backend == "turso") {
      t->dsn = backend + "://" + (dir_.path() / "flow.db").string();
    } else {
#if PGQRS_TEST_WITH_POSTGRES
      const std::string direct = Env("PGQRS_TEST_POSTGRES_DSN");
      const std::string via = backend == "pgbouncer" ? Env("PGQRS_TEST_PGBOUNCER_DSN") : direct;
      if (direct.empty() || via.empty()) return nullptr;
      t->pg = std::make_unique<PgAdmin>(direct);
      t->schema = t->pg->CreateSchema("flow");
      t->dsn = via;
      t->env = {"PGQRS_SCHEMA=" + t->schema};
#else
      return nullptr;
#endif
    }
    pgqrs::Store store = t->Open();
    pgqrs::admin(store).install();
    return t;
  }

  std::vector<pid_t> Consumers(const Target& t, const std::string& queue, int n, long expected,
                               const std::vector<std::string>& extra) {
    std::vector<pid_t> pids;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> args = {PGQRS_QUEUE_WORKER_PATH,
                                       "consume",
                                       t.dsn,
                                       queue,
                                       (dir_.path() / ("c" + std::to_string(i) + ".log")).string(),
                                       std::to_string(expected)};
      args.insert(args.end(), extra.begin(), extra.end());
      pids.push_back(Spawn(args, t.env));
      EXPECT_GT(pids.back(), 0);
    }
    return pids;
  }

  void ExpectAllExitZero(const std::vector<pid_t>& pids) {
    auto status = WaitAll(pids, std::chrono::steady_clock::now() + kTimeout);
    for (pid_t p : pids) EXPECT_EQ(status[p], 0) << "worker " << p << " exit status";
  }

  ScratchDir dir_{"pgqrs-flow-mp"};
};

// Turso allows one process per file (decision H24, docs/turso.md): several processes on one
// Turso file are refused (TursoProcesses.* tests that); worker takeover under SIGKILL is
// make torture.
#define PGQRS_FLOW_TARGET(t)                                                         \
  if (GetParam() == "turso") {                                                       \
    GTEST_SKIP() << "turso: one process per file (decision H24)";                    \
  }                                                                                  \
  auto t = MakeTarget();                                                             \
  if (!t) {                                                                          \
    GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN"                                        \
                 << (GetParam() == "pgbouncer" ? " / PGQRS_TEST_PGBOUNCER_DSN" : "") \
                 << " is not set: needs the test servers (scripts/pg-test-server)";  \
  }

// Samples `measure` from the database until `done`; returns the largest value seen and the
// number of samples.
template <class F>
std::pair<std::int64_t, int> SampleMax(F measure, const std::atomic<bool>& done) {
  std::int64_t most = 0;
  int samples = 0;
  while (!done.load()) {
    most = std::max(most, measure());
    ++samples;
    std::this_thread::sleep_for(2ms);
  }
  return {most, samples};
}

TEST_P(FlowMultiprocessTest, FourConsumersNeverHoldMoreThanTheQueueConcurrency) {
  PGQRS_FLOW_TARGET(t);
  constexpr int kMessages = 150;
  pgqrs::Store store = t->Open();
  pgqrs::QueueOptions o;
  o.concurrency = 3;
  store.queue("capped", o);
  std::vector<pgqrs::json> payloads;
  for (int n = 0; n < kMessages; ++n) payloads.push_back({{"n", n}});
  pgqrs::enqueue().messages(payloads).to("capped").execute(store);

  const auto pids = Consumers(*t, "capped", 4, kMessages, {"--hold-ms", "4", "--batch", "5"});
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    ExpectAllExitZero(pids);
    done = true;
  });
  const auto [most, samples] = SampleMax(
      [&] { return static_cast<std::int64_t>(pgqrs::admin(store).queue_metrics("capped").leased); },
      done);
  waiter.join();
  EXPECT_LE(most, 3) << "leases held at once, over " << samples << " samples";
  EXPECT_GE(most, 1) << "the sampler never saw a lease (" << samples << " samples)";
  const auto m = pgqrs::admin(store).queue_metrics("capped");
  EXPECT_EQ(m.archived, static_cast<std::uint64_t>(kMessages));
}

TEST_P(FlowMultiprocessTest, PerKeyLimitHoldsUnderContention) {
  PGQRS_FLOW_TARGET(t);
  constexpr int kMessages = 120;
  pgqrs::Store store = t->Open();
  pgqrs::QueueOptions o;
  o.key_concurrency = 1;
  store.queue("keyed", o);
  auto producer = Spawn({PGQRS_QUEUE_WORKER_PATH, "produce", t->dsn, "keyed",
                         std::to_string(kMessages), "--concurrency-keys", "4", "--batch", "20"},
                        t->env);
  const auto pids = Consumers(*t, "keyed", 4, kMessages, {"--hold-ms", "3", "--batch", "4"});
  std::vector<pid_t> all = pids;
  all.push_back(producer);
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    ExpectAllExitZero(all);
    done = true;
  });
  const auto [most, samples] = SampleMax(
      [&] {
        std::map<std::string, std::int64_t> per_key;
        const auto now = std::chrono::system_clock::now();
        for (const auto& m : pgqrs::admin(store).list_messages("keyed", 1000, false)) {
          if (m.consumer_worker_id && m.vt > now && m.concurrency_key)
            ++per_key[*m.concurrency_key];
        }
        std::int64_t top = 0;
        for (const auto& [k, n] : per_key) top = std::max(top, n);
        return top;
      },
      done);
  waiter.join();
  EXPECT_LE(most, 1) << "leases of one key held at once, over " << samples << " samples";
  EXPECT_EQ(pgqrs::admin(store).queue_metrics("keyed").archived,
            static_cast<std::uint64_t>(kMessages));
}

TEST_P(FlowMultiprocessTest, RateLimitIsNeverExceededOverAnyWindow) {
  PGQRS_FLOW_TARGET(t);
  constexpr int kMessages = 45;
  constexpr int kPerWindow = 15;
  constexpr auto kPeriod = 500ms;
  pgqrs::Store store = t->Open();
  pgqrs::QueueOptions o;
  o.rate_limit = pgqrs::RateLimit{kPerWindow, kPeriod};
  store.queue("metered", o);
  std::vector<pgqrs::json> payloads;
  for (int n = 0; n < kMessages; ++n) payloads.push_back({{"n", n}});
  pgqrs::enqueue().messages(payloads).to("metered").execute(store);
  ExpectAllExitZero(Consumers(*t, "metered", 4, kMessages, {"--batch", "4"}));

  std::vector<pgqrs::TimePoint> leased_at;
  for (const auto& m : pgqrs::admin(store).list_messages("metered", 1000, true)) {
    ASSERT_TRUE(m.dequeued_at.has_value());
    EXPECT_EQ(m.read_ct, 1) << "a lease expired: the window check would miss a lease";
    leased_at.push_back(*m.dequeued_at);
  }
  ASSERT_EQ(leased_at.size(), static_cast<std::size_t>(kMessages));
  std::sort(leased_at.begin(), leased_at.end());
  // Every window (x - period, x] that ends on a lease holds at most kPerWindow leases.
  std::size_t worst = 0;
  for (std::size_t end = 0, begin = 0; end < leased_at.size(); ++end) {
    while (leased_at[begin] <= leased_at[end] - kPeriod) ++begin;
    worst = std::max(worst, end - begin + 1);
  }
  EXPECT_LE(worst, static_cast<std::size_t>(kPerWindow));
  EXPECT_GE(leased_at.back() - leased_at.front(), 2 * kPeriod - 50ms)
      << "45 leases at 15 per 500 ms take at least two periods";
}

TEST_P(FlowMultiprocessTest, DedupHoldsUnderConcurrentEnqueues) {
  PGQRS_FLOW_TARGET(t);
  constexpr int kPerProducer = 60;
  constexpr int kKeys = 12;
  pgqrs::Store store = t->Open();
  store.queue("dedup");
  std::vector<pid_t> pids;
  for (int i = 0; i < 4; ++i) {
    pids.push_back(Spawn({PGQRS_QUEUE_WORKER_PATH, "produce", t->dsn, "dedup",
                          std::to_string(kPerProducer), "--dedup-keys", std::to_string(kKeys)},
                         t->env));
  }
  ExpectAllExitZero(pids);
  const auto all = pgqrs::admin(store).list_messages("dedup", 1000, true);
  std::set<std::string> keys;
  for (const auto& m : all) {
    ASSERT_TRUE(m.dedup_key.has_value());
    EXPECT_TRUE(keys.insert(*m.dedup_key).second) << "two live messages with " << *m.dedup_key;
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kKeys));
}

std::vector<std::string> Backends() {
  std::vector<std::string> out = {"sqlite"};
#if PGQRS_TEST_WITH_TURSO
  out.push_back("turso");
#endif
#if PGQRS_TEST_WITH_POSTGRES
  out.push_back("postgres");
  out.push_back("pgbouncer");
#endif
  return out;
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

INSTANTIATE_TEST_SUITE_P(Backends, FlowMultiprocessTest, ::testing::ValuesIn(Backends()),
                         BackendName);

}  // namespace
}  // namespace pgqrs_test
