// Wake-ups on Postgres: an enqueue through one store wakes an idle poller of another store
// (another connection pool, as in another process) at once through LISTEN/NOTIFY, long
// before its poll interval; the listener reconnects after its connection is terminated;
// behind PgBouncer in transaction pooling mode LISTEN cannot work, the listener notices and
// gives up, and polling still delivers everything. pgqrs_listen=false turns it off.
//
// Needs PGQRS_TEST_POSTGRES_DSN (and PGQRS_TEST_PGBOUNCER_DSN for the PgBouncer test);
// skipped with that reason otherwise.
#include <algorithm>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "backend/postgres/pg_backend.h"
#include "backend/store_backend.h"
#include "integration/pg_admin.h"
#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string ListenerState(const pgqrs::Store& store) {
  auto* pg = dynamic_cast<pgqrs::pg::PostgresBackend*>(&pgqrs::backend::backend_of(store));
  return pg == nullptr ? "not postgres" : pg->listener_state();
}

bool WaitForState(const pgqrs::Store& store, const std::string& state,
                  std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (ListenerState(store) == state) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ListenerState(store) == state;
}

class PostgresNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = Env("PGQRS_TEST_POSTGRES_DSN");
    if (dsn_.empty()) GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN is not set: needs a Postgres server";
    admin_db_ = std::make_unique<PgAdmin>(dsn_);
    schema_ = admin_db_->CreateSchema("notify");
  }
  void TearDown() override {
    if (admin_db_) admin_db_->DropSchema(schema_);
  }

  // A store on `dsn` in this test's schema, polling only every `poll`.
  pgqrs::Store Open(const std::string& dsn, std::chrono::milliseconds poll) {
    pgqrs::Config config = pgqrs::Config::from_dsn(dsn);
    config.schema = schema_;
    config.poll_interval_ms = static_cast<std::uint32_t>(poll.count());
    return pgqrs::connect_with_config(config);
  }

  // Starts an idle poll on `consumer_store` (in a thread) that returns when a message
  // arrives; returns its future.
  static std::future<std::vector<pgqrs::QueueMessage>> StartPoll(const pgqrs::Store& store,
                                                                 const std::string& queue) {
    return std::async(std::launch::async, [store, queue] {
      return pgqrs::dequeue().from(queue).until(60s).poll(store);
    });
  }

  std::string dsn_;
  std::string schema_;
  std::unique_ptr<PgAdmin> admin_db_;
};

TEST_F(PostgresNotifyTest, EnqueueInAnotherStoreWakesAnIdlePollerAtOnce) {
  pgqrs::Store producer_store = Open(dsn_, 250ms);
  pgqrs::admin(producer_store).install();
  producer_store.queue("wake");
  pgqrs::Store consumer_store = Open(dsn_, 30s);  // polling alone would take 30 s

  constexpr int kRounds = 20;
  std::vector<double> latencies_ms;
  for (int i = 0; i < kRounds; ++i) {
    auto fut = StartPoll(consumer_store, "wake");
    ASSERT_TRUE(WaitForState(consumer_store, "listening", 10s)) << ListenerState(consumer_store);
    std::this_thread::sleep_for(20ms);  // let the poller go idle
    const auto t0 = Clock::now();
    pgqrs::enqueue().message({{"round", i}}).to("wake").execute(producer_store);
    ASSERT_EQ(fut.wait_for(5s), std::future_status::ready)
        << "the idle poller was not woken (round " << i << ")";
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ASSERT_EQ(fut.get().size(), 1u);
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p50 = latencies_ms[latencies_ms.size() / 2];
  const double max = latencies_ms.back();
  RecordProperty("wake_p50_us", static_cast<int>(p50 * 1000));
  RecordProperty("wake_max_us", static_cast<int>(max * 1000));
  std::cout << "[ info ] enqueue -> idle poller in another store returns: p50 " << p50
            << " ms, max " << max << " ms (poll interval 30 s)\n";
  EXPECT_LT(max, 2000.0);
}

// The notification of an enqueue is sent after its commit, from the store's notifier thread
// (decision P14). A producer that enqueues and closes its store at once (a short-lived
// process) still wakes the consumers then, not at their next poll.
TEST_F(PostgresNotifyTest, AProducerThatClosesRightAfterEnqueueingStillWakesAnIdlePoller) {
  {
    pgqrs::Store setup = Open(dsn_, 250ms);
    pgqrs::admin(setup).install();
    setup.queue("wake");
  }
  pgqrs::Store consumer_store = Open(dsn_, 30s);  // polling alone would take 30 s
  for (int i = 0; i < 5; ++i) {
    auto fut = StartPoll(consumer_store, "wake");
    ASSERT_TRUE(WaitForState(consumer_store, "listening", 10s)) << ListenerState(consumer_store);
    std::this_thread::sleep_for(20ms);  // let the poller go idle
    {
      pgqrs::Store producer_store = Open(dsn_, 250ms);
      pgqrs::enqueue().message({{"round", i}}).to("wake").execute(producer_store);
    }  // closed before its notifier thread may have sent anything
    ASSERT_EQ(fut.wait_for(5s), std::future_status::ready)
        << "the idle poller was not woken by a producer that closed at once (round " << i << ")";
    ASSERT_EQ(fut.get().size(), 1u);
  }
}

// Concurrent producers notify through their notifier thread, which sends one notification
// for a queue however many enqueues named it meanwhile: every idle poller is still woken.
TEST_F(PostgresNotifyTest, ConcurrentProducersWakeEveryIdlePollerOfTheirQueues) {
  pgqrs::Store producer_store = Open(dsn_, 250ms);
  pgqrs::admin(producer_store).install();
  const std::vector<std::string> queues = {"wake_a", "wake_b", "wake_c"};
  for (const auto& q : queues) producer_store.queue(q);
  pgqrs::Store consumer_store = Open(dsn_, 30s);
  std::vector<std::future<std::vector<pgqrs::QueueMessage>>> polls;
  for (const auto& q : queues) polls.push_back(StartPoll(consumer_store, q));
  ASSERT_TRUE(WaitForState(consumer_store, "listening", 10s)) << ListenerState(consumer_store);
  std::this_thread::sleep_for(50ms);
  std::vector<std::thread> producers;
  for (int t = 0; t < 6; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string& q = queues[static_cast<std::size_t>((t + i) % 3)];
        pgqrs::enqueue().message({{"t", t}, {"i", i}}).to(q).execute(producer_store);
      }
    });
  }
  for (auto& p : producers) p.join();
  for (std::size_t i = 0; i < polls.size(); ++i) {
    ASSERT_EQ(polls[i].wait_for(5s), std::future_status::ready)
        << "the idle poller of " << queues[i] << " was not woken";
    EXPECT_GE(polls[i].get().size(), 1u);
  }
}

TEST_F(PostgresNotifyTest, ListenerReconnectsAfterItsConnectionIsTerminated) {
  const std::string app = "pgqrs_notify_reconnect";
  pgqrs::Store producer_store = Open(dsn_, 250ms);
  pgqrs::admin(producer_store).install();
  producer_store.queue("wake");
  pgqrs::Store consumer_store = Open(WithParam(dsn_, "application_name=" + app), 30s);

  auto first = StartPoll(consumer_store, "wake");
  ASSERT_TRUE(WaitForState(consumer_store, "listening", 10s));
  const auto killed = admin_db_->Value(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = $1 AND query LIKE 'LISTEN%'",
      {app});
  EXPECT_EQ(killed, "1") << "expected to terminate exactly the listener's connection";
  // It comes back by itself and wakes the poller again.
  ASSERT_TRUE(WaitForState(consumer_store, "connecting", 5s) ||
              ListenerState(consumer_store) == "listening");
  ASSERT_TRUE(WaitForState(consumer_store, "listening", 10s)) << ListenerState(consumer_store);
  std::this_thread::sleep_for(50ms);
  pgqrs::enqueue().message({{"after", "reconnect"}}).to("wake").execute(producer_store);
  ASSERT_EQ(first.wait_for(5s), std::future_status::ready)
      << "no wake-up after the listener reconnected";
  EXPECT_EQ(first.get().size(), 1u);
}

TEST_F(PostgresNotifyTest, ListenOffInTheDsnMeansPollingOnly) {
  pgqrs::Store producer_store = Open(dsn_, 250ms);
  pgqrs::admin(producer_store).install();
  producer_store.queue("poll");
  pgqrs::Store consumer_store = Open(WithParam(dsn_, "pgqrs_listen=false"), 100ms);
  auto fut = StartPoll(consumer_store, "poll");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(ListenerState(consumer_store), "off");
  pgqrs::enqueue().message({{"a", 1}}).to("poll").execute(producer_store);
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get().size(), 1u);
}

TEST_F(PostgresNotifyTest, BehindPgBouncerTransactionPoolingTheListenerGivesUpAndPollingWorks) {
  const std::string bouncer = Env("PGQRS_TEST_PGBOUNCER_DSN");
  if (bouncer.empty()) GTEST_SKIP() << "PGQRS_TEST_PGBOUNCER_DSN is not set";
  pgqrs::Store producer_store = Open(bouncer, 250ms);
  pgqrs::admin(producer_store).install();
  producer_store.queue("bounced");
  pgqrs::Store consumer_store = Open(bouncer, 100ms);

  auto fut = StartPoll(consumer_store, "bounced");
  EXPECT_TRUE(WaitForState(consumer_store, "unusable", 10s))
      << "LISTEN through a transaction pooler cannot deliver; the listener should notice. "
         "state: "
      << ListenerState(consumer_store);
  pgqrs::enqueue().message({{"via", "pgbouncer"}}).to("bounced").execute(producer_store);
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready) << "polling did not deliver";
  EXPECT_EQ(fut.get().size(), 1u);
}

}  // namespace
}  // namespace pgqrs_test
