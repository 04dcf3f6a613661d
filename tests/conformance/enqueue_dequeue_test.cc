// SPEC §3: enqueue (single, batch, delayed, as a producer) and dequeue (order, batch bounds,
// leasing, poll without a handler).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <limits>
#include <set>
#include <stop_token>
#include <thread>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class EnqueueTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    MakeQueue("q");
  }
};

class DequeueTest : public EnqueueTest {};

TEST_P(EnqueueTest, SingleMessageIsStoredPendingWithClockTimes) {
  const pgqrs::json payload = {{"task", "email"}, {"to", "a@example.com"}};
  auto ids = pgqrs::enqueue().message(payload).to("q").execute(store());
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_GT(ids[0], 0);

  pgqrs::QueueMessage m = admin().get_message(ids[0]);
  EXPECT_EQ(m.payload, payload);
  EXPECT_EQ(m.queue_id, admin().get_queue("q").id);
  EXPECT_EQ(m.read_ct, 0);
  EXPECT_LE(std::abs(MillisBetween(m.enqueued_at, now())), 1);
  EXPECT_LE(MillisBetween(m.vt, now()), 1) << "visible immediately";
  EXPECT_FALSE(m.dequeued_at.has_value());
  EXPECT_FALSE(m.producer_worker_id.has_value()) << "no .worker(): no producer id";
  EXPECT_FALSE(m.consumer_worker_id.has_value());
  EXPECT_FALSE(m.archived_at.has_value());
  EXPECT_FALSE(m.dead_at.has_value());
  EXPECT_EQ(admin().queue_metrics("q").pending, 1u);
}

TEST_P(EnqueueTest, PayloadRoundTripsExactly) {
  const pgqrs::json payload = {
      {"s", "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \"quoted\" 'single' \\ back"},
      {"i", -9007199254740991LL},
      {"u", 18446744073709551615ULL},
      {"f", 3.25},
      {"b", true},
      {"n", nullptr},
      {"arr", {1, "two", {{"three", 3}}}},
      {"nested", {{"deep", {{"deeper", {1, 2, 3}}}}}},
      {"empty_obj", pgqrs::json::object()},
      {"empty_arr", pgqrs::json::array()},
  };
  auto ids = pgqrs::enqueue().message(payload).to("q").execute(store());
  auto got = pgqrs::dequeue().from("q").fetch_one(store());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, ids[0]);
  EXPECT_EQ(got->payload, payload) << got->payload.dump();
}

TEST_P(EnqueueTest, BatchReturnsIdsInInputOrder) {
  std::vector<pgqrs::json> payloads;
  for (int i = 0; i < 50; ++i) payloads.push_back({{"n", i}});
  auto ids = pgqrs::enqueue().messages(payloads).to("q").execute(store());
  ASSERT_EQ(ids.size(), 50u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), 50u) << "ids are distinct";
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(admin().get_message(ids[static_cast<std::size_t>(i)]).payload["n"], i);
  }
}

TEST_P(EnqueueTest, LargeBatchInOneCall) {
  auto ids = EnqueueNumbers("q", 5000);
  EXPECT_EQ(ids.size(), 5000u);
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), 5000u);
  EXPECT_EQ(admin().queue_metrics("q").pending, 5000u);
}

TEST_P(EnqueueTest, BatchWithOneInvalidPayloadStoresNothing) {
  std::vector<pgqrs::json> payloads = {{{"n", 1}}, {{"n", 2}}, {{"n", 3}}};
  payloads[1]["bad"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(pgqrs::enqueue().messages(payloads).to("q").execute(store()),
               pgqrs::ValidationError);
  EXPECT_TRUE(AllMessages("q").empty());
  EXPECT_EQ(admin().queue_metrics("q").pending, 0u);
}

TEST_P(EnqueueTest, DelayedMessageInvisibleUntilClockPassesDelay) {
  auto ids = pgqrs::enqueue().message({{"d", 1}}).to("q").delay(60s).execute(store());
  EXPECT_FALSE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  EXPECT_EQ(admin().queue_metrics("q").delayed, 1u);
  EXPECT_EQ(admin().queue_metrics("q").pending, 0u);
  Advance(59s);
  EXPECT_FALSE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  Advance(1s);  // now == vt exactly: deliverable (vt <= now)
  auto got = pgqrs::dequeue().from("q").fetch_one(store());
  ASSERT_TRUE(got.has_value()) << "visible once vt <= now";
  EXPECT_EQ(got->id, ids[0]);
}

TEST_P(EnqueueTest, MillisecondDelayHonoured) {
  pgqrs::enqueue().message({{"d", 1}}).to("q").delay(1500ms).execute(store());
  Advance(1499ms);
  EXPECT_FALSE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  Advance(2ms);
  EXPECT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
}

TEST_P(EnqueueTest, AtFutureTimeInvisibleUntilThen) {
  pgqrs::enqueue().message({{"a", 1}}).to("q").at(now() + 10min).execute(store());
  Advance(9min + 59s);
  EXPECT_FALSE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  Advance(2s);
  EXPECT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
}

TEST_P(EnqueueTest, AtPastTimeIsVisibleNow) {
  pgqrs::enqueue().message({{"a", 1}}).to("q").at(now() - 1h).execute(store());
  EXPECT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
}

TEST_P(EnqueueTest, NegativeDelayThrowsValidationErrorAndStoresNothing) {
  EXPECT_THROW(pgqrs::enqueue().message({{"a", 1}}).to("q").delay(-5s).execute(store()),
               pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::enqueue().message({{"a", 1}}).to("q").delay(-1ms).execute(store()),
               pgqrs::ValidationError);
  EXPECT_TRUE(AllMessages("q").empty());
}

TEST_P(EnqueueTest, EnqueueToUnknownQueueThrowsQueueNotFound) {
  EXPECT_THROW(pgqrs::enqueue().message({{"a", 1}}).to("missing").execute(store()),
               pgqrs::QueueNotFoundError);
}

TEST_P(EnqueueTest, EnqueueWithoutWorkerCreatesNoWorkerRow) {
  EnqueueNumbers("q", 3);
  for (int i = 0; i < 5; ++i) pgqrs::enqueue().message({{"i", i}}).to("q").execute(store());
  EXPECT_TRUE(admin().list_workers().empty());
}

TEST_P(EnqueueTest, EnqueueAsProducerRecordsProducerId) {
  auto p = pgqrs::producer("prod-1", "q").create(store());
  auto ids = pgqrs::enqueue().message({{"a", 1}}).to("q").worker(p).execute(store());
  EXPECT_EQ(admin().get_message(ids[0]).producer_worker_id, p.id());
}

TEST_P(EnqueueTest, ProducerEnqueueDelayedAndBatch) {
  auto p = pgqrs::producer("prod-1", "q").create(store());
  std::int64_t id = p.enqueue({{"x", 1}});
  EXPECT_EQ(admin().get_message(id).producer_worker_id, p.id());

  std::int64_t delayed = p.enqueue_delayed({{"x", 2}}, 30s);
  EXPECT_EQ(admin().get_message(delayed).producer_worker_id, p.id());
  EXPECT_NEAR(MillisBetween(admin().get_message(delayed).vt, now()), 30000, 1);

  auto batch = p.batch_enqueue({{{"x", 3}}, {{"x", 4}}, {{"x", 5}}});
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_TRUE(std::is_sorted(batch.begin(), batch.end()));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto m = admin().get_message(batch[i]);
    EXPECT_EQ(m.payload["x"], static_cast<int>(i) + 3);
    EXPECT_EQ(m.producer_worker_id, p.id());
  }
  EXPECT_EQ(admin().queue_metrics("q").pending, 4u);
  EXPECT_EQ(admin().queue_metrics("q").delayed, 1u);
}

TEST_P(EnqueueTest, ProducerEnqueueValidatesPayload) {
  auto p = pgqrs::producer("prod-1", "q").create(store());
  EXPECT_THROW(p.enqueue({{"bad", std::numeric_limits<double>::infinity()}}),
               pgqrs::ValidationError);
  EXPECT_THROW(p.enqueue_delayed({{"x", 1}}, -1s), pgqrs::ValidationError);
  EXPECT_THROW(p.batch_enqueue({{{"ok", 1}}, {{"bad", std::numeric_limits<double>::infinity()}}}),
               pgqrs::ValidationError);
  EXPECT_TRUE(AllMessages("q").empty());
}

// ---- dequeue ---------------------------------------------------------------------------

TEST_P(DequeueTest, FetchOneOnEmptyQueueReturnsNothing) {
  EXPECT_FALSE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  EXPECT_TRUE(pgqrs::dequeue().from("q").batch(5).fetch_all(store()).empty());
}

TEST_P(DequeueTest, DequeueFromUnknownQueueThrowsQueueNotFound) {
  EXPECT_THROW(pgqrs::dequeue().from("missing").fetch_one(store()), pgqrs::QueueNotFoundError);
  EXPECT_THROW(pgqrs::dequeue().from("missing").fetch_all(store()), pgqrs::QueueNotFoundError);
}

TEST_P(DequeueTest, FetchLeasesWithDefaultLockTime) {
  auto ids = EnqueueNumbers("q", 1);
  Advance(5s);
  auto got = pgqrs::dequeue().from("q").fetch_one(store());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, ids[0]);
  EXPECT_EQ(got->read_ct, 1);
  EXPECT_NEAR(MillisBetween(got->vt, now()),
              static_cast<long long>(store().config().default_lock_time_seconds) * 1000, 1);
  ASSERT_TRUE(got->dequeued_at.has_value());
  EXPECT_LE(std::abs(MillisBetween(*got->dequeued_at, now())), 1);
  EXPECT_TRUE(got->consumer_worker_id.has_value()) << "ephemeral consumer holds the lease";

  pgqrs::QueueMessage stored = admin().get_message(ids[0]);
  EXPECT_EQ(stored.read_ct, 1);
  EXPECT_EQ(stored.consumer_worker_id, got->consumer_worker_id);
  EXPECT_EQ(admin().queue_metrics("q").leased, 1u);
}

TEST_P(DequeueTest, WithVtSetsLeaseFromNow) {
  EnqueueNumbers("q", 1);
  auto got = pgqrs::dequeue().from("q").with_vt(7s).fetch_one(store());
  ASSERT_TRUE(got.has_value());
  EXPECT_NEAR(MillisBetween(got->vt, now()), 7000, 1);
}

TEST_P(DequeueTest, LeasedMessageNotDeliveredAgainWhileLeaseValid) {
  EnqueueNumbers("q", 1);
  ASSERT_TRUE(pgqrs::dequeue().from("q").with_vt(30s).fetch_one(store()).has_value());
  EXPECT_FALSE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  auto other = pgqrs::consumer("other", "q").create(store());
  Advance(29s);
  EXPECT_TRUE(other.dequeue(1).empty());
}

TEST_P(DequeueTest, OrderIsByIdWhenVisibleAtSameTime) {
  auto ids = EnqueueNumbers("q", 5);
  auto got = pgqrs::dequeue().from("q").batch(5).fetch_all(store());
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].id, ids[i]) << "position " << i;
}

TEST_P(DequeueTest, OrderIsOldestVisibleFirstByVtThenId) {
  // A is enqueued first but becomes visible later than B.
  auto a = pgqrs::enqueue().message({{"name", "A"}}).to("q").delay(10s).execute(store())[0];
  Advance(5s);
  auto b = pgqrs::enqueue().message({{"name", "B"}}).to("q").execute(store())[0];
  auto c = pgqrs::enqueue().message({{"name", "C"}}).to("q").execute(store())[0];
  Advance(10s);
  auto first = pgqrs::dequeue().from("q").fetch_one(store());
  auto second = pgqrs::dequeue().from("q").fetch_one(store());
  auto third = pgqrs::dequeue().from("q").fetch_one(store());
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->id, b);
  EXPECT_EQ(second->id, c);
  EXPECT_EQ(third->id, a);
}

TEST_P(DequeueTest, BatchReturnsAtMostNInOrder) {
  auto ids = EnqueueNumbers("q", 10);
  auto first = pgqrs::dequeue().from("q").batch(4).fetch_all(store());
  ASSERT_EQ(first.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(first[i].id, ids[i]);
  auto rest = pgqrs::dequeue().from("q").batch(100).fetch_all(store());
  EXPECT_EQ(rest.size(), 6u);
  EXPECT_TRUE(pgqrs::dequeue().from("q").batch(3).fetch_all(store()).empty());
}

TEST_P(DequeueTest, BatchSizeOutOfBoundsThrowsValidationError) {
  EnqueueNumbers("q", 3);
  const std::uint32_t max = store().config().default_max_batch_size;
  EXPECT_THROW(pgqrs::dequeue().from("q").batch(0).fetch_all(store()), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::dequeue().from("q").batch(max + 1).fetch_all(store()),
               pgqrs::ValidationError);
  auto c = pgqrs::consumer("c", "q").create(store());
  EXPECT_THROW(c.dequeue(0), pgqrs::ValidationError);
  EXPECT_THROW(c.dequeue(max + 1), pgqrs::ValidationError);
  EXPECT_EQ(admin().queue_metrics("q").pending, 3u) << "a rejected dequeue leases nothing";
  EXPECT_EQ(pgqrs::dequeue().from("q").batch(max).fetch_all(store()).size(), 3u);
}

TEST_P(DequeueTest, ConfiguredMaxBatchSizeIsTheBound) {
  pgqrs::Store s = MakeStore([](pgqrs::Config& c) { c.default_max_batch_size = 5; });
  MakeQueue(s, "q");
  EnqueueNumbers(s, "q", 8);
  EXPECT_THROW(pgqrs::dequeue().from("q").batch(6).fetch_all(s), pgqrs::ValidationError);
  EXPECT_EQ(pgqrs::dequeue().from("q").batch(5).fetch_all(s).size(), 5u);
}

TEST_P(DequeueTest, ConsumerDequeueRecordsConsumerAndLease) {
  auto ids = EnqueueNumbers("q", 3);
  auto c = pgqrs::consumer("c1", "q").create(store());
  auto got = c.dequeue_with_vt(2, 12s);
  ASSERT_EQ(got.size(), 2u);
  for (const auto& m : got) {
    EXPECT_EQ(m.consumer_worker_id, c.id());
    EXPECT_NEAR(MillisBetween(m.vt, now()), 12000, 1);
  }
  auto viaBuilder = pgqrs::dequeue().from("q").worker(c).fetch_one(store());
  ASSERT_TRUE(viaBuilder.has_value());
  EXPECT_EQ(viaBuilder->id, ids[2]);
  EXPECT_EQ(viaBuilder->consumer_worker_id, c.id());
  EXPECT_EQ(admin().worker_messages(c.id()).size(), 3u);
}

TEST_P(DequeueTest, TwoConsumersGetDisjointMessages) {
  EnqueueNumbers("q", 15);
  auto a = pgqrs::consumer("a", "q").create(store());
  auto b = pgqrs::consumer("b", "q").create(store());
  auto got_a = a.dequeue(10);
  auto got_b = b.dequeue(10);
  EXPECT_EQ(got_a.size(), 10u);
  EXPECT_EQ(got_b.size(), 5u);
  std::set<std::int64_t> ids;
  for (const auto& m : got_a) ids.insert(m.id);
  for (const auto& m : got_b) ids.insert(m.id);
  EXPECT_EQ(ids.size(), 15u) << "no message given to both consumers";
  EXPECT_TRUE(a.dequeue(10).empty());
}

TEST_P(DequeueTest, ConcurrentConsumerThreadsNeverShareALeasedMessage) {
  constexpr int kMessages = 300;
  EnqueueNumbers("q", kMessages);
  std::vector<std::vector<std::int64_t>> seen(3);
  std::vector<std::string> errors(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      try {
        auto c = pgqrs::consumer("t" + std::to_string(t), "q").create(store());
        for (;;) {
          auto msgs = c.dequeue(3);
          if (msgs.empty()) break;
          for (const auto& m : msgs) seen[static_cast<std::size_t>(t)].push_back(m.id);
        }
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  std::set<std::int64_t> all;
  std::size_t total = 0;
  for (const auto& v : seen) {
    total += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kMessages)) << "each message leased exactly once";
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(admin().queue_metrics("q").leased, static_cast<std::uint64_t>(kMessages));
}

TEST_P(DequeueTest, OneShotFetchReusesOneEphemeralWorker) {
  EnqueueNumbers("q", 25);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value()) << "call " << i;
  }
  for (int i = 0; i < 5; ++i) pgqrs::dequeue().from("q").fetch_all(store());
  EXPECT_LE(admin().list_workers("q").size(), 1u);
  EXPECT_LE(admin().list_workers().size(), 1u);
}

// The store's ephemeral consumer heartbeats at most once per heartbeat interval, measured
// on the store's clock.
TEST_P(DequeueTest, EphemeralConsumerHeartbeatsOncePerIntervalOfTheClock) {
  EnqueueNumbers("q", 3);
  const pgqrs::TimePoint t0 = now();
  ASSERT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  auto workers = admin().list_workers("q");
  ASSERT_EQ(workers.size(), 1u);
  const std::int64_t id = workers[0].id;
  EXPECT_EQ(MillisBetween(admin().get_worker(id).heartbeat_at, t0), 0);
  const auto every = std::chrono::seconds(config_.heartbeat_interval_seconds);
  Advance(every - 1ms);
  ASSERT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  EXPECT_EQ(MillisBetween(admin().get_worker(id).heartbeat_at, t0), 0) << "within the interval";
  Advance(1ms);
  ASSERT_TRUE(pgqrs::dequeue().from("q").fetch_one(store()).has_value());
  EXPECT_EQ(MillisBetween(admin().get_worker(id).heartbeat_at, now()), 0)
      << "one interval of the clock later, the next call heartbeats";
}

TEST_P(DequeueTest, PollWithoutHandlerReturnsAvailableMessagesAtOnce) {
  EnqueueNumbers("q", 2);
  std::stop_source guard;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue().from("q").batch(5).stop_token(guard.get_token()).poll(store());
  });
  if (!WaitReady(fut, 5000ms)) {
    guard.request_stop();
    fut.wait();
    FAIL() << "poll() did not return although messages were available";
  }
  EXPECT_EQ(fut.get().size(), 2u);
}

TEST_P(DequeueTest, PollWithoutHandlerWaitsForAMessage) {
  std::stop_source guard;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue().from("q").stop_token(guard.get_token()).poll(store());
  });
  ASSERT_TRUE(WaitForWaiters(2)) << "poll() never went idle";
  EXPECT_FALSE(WaitReady(fut, 0ms)) << "poll() must block while the queue is empty";
  auto id = EnqueueNumbers("q", 1)[0];  // the clock never moves: the wake-up must do it
  if (!WaitReady(fut, 5000ms)) {
    guard.request_stop();
    fut.wait();
    FAIL() << "poll() did not pick up a message enqueued while it waited";
  }
  auto got = fut.get();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
}

// The idle back-off is measured on the store's clock: a delayed message is picked up when
// the clock reaches its visibility time (no wake-up announces it), not before.
TEST_P(DequeueTest, PollPicksUpADelayedMessageWhenTheClockReachesIt) {
  auto id = pgqrs::enqueue().message({{"d", 1}}).to("q").delay(5s).execute(store())[0];
  std::stop_source guard;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue().from("q").stop_token(guard.get_token()).poll(store());
  });
  const std::string failure = DriveToDeadline(fut, 5s, 2);
  if (!failure.empty()) guard.request_stop();
  fut.wait();
  ASSERT_EQ(failure, "") << "poll() of a message delayed 5 s";
  auto got = fut.get();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
}

// .until() is measured on the store's clock (decision K1 in docs/decisions.md): the poll
// returns empty once the test moves the clock to the deadline, not before.
TEST_P(DequeueTest, PollUntilReturnsEmptyOnTimeout) {
  std::stop_source guard;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue().from("q").until(200ms).stop_token(guard.get_token()).poll(store());
  });
  const std::string failure = DriveToDeadline(fut, 200ms, 2);
  if (!failure.empty()) guard.request_stop();
  fut.wait();
  ASSERT_EQ(failure, "") << "poll().until(200ms)";
  EXPECT_TRUE(fut.get().empty());
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(EnqueueTest);
PGQRS_INSTANTIATE_CONFORMANCE(DequeueTest);

}  // namespace pgqrs_test
