// SPEC §3: message handlers. execute() archives on success and on exception releases with
// the retry backoff and rethrows; poll() loops, surviving handler exceptions.
#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

struct HandlerBoom : std::runtime_error {
  explicit HandlerBoom(int c) : std::runtime_error("handler boom"), code(c) {}
  int code;
};
struct NotAnException {
  int value;
};

pgqrs::RetryBackoff NoJitter(std::chrono::milliseconds base = 1000ms,
                             std::chrono::milliseconds cap = 60000ms) {
  pgqrs::RetryBackoff b;
  b.base = base;
  b.cap = cap;
  b.jitter = false;
  return b;
}

class HandlerTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    MakeQueue("q");
    c_.emplace(pgqrs::consumer("c", "q").create(store()));
  }
  const pgqrs::Consumer& c() const { return *c_; }

  // Runs `handler.poll(store())` on another thread with a stop token as a safety net;
  // fails the test if it does not return within `limit`.
  std::optional<pgqrs::PollStats> RunPoll(
      const std::function<pgqrs::PollStats(std::stop_token)>& run,
      std::chrono::milliseconds limit = 30000ms) {
    std::stop_source guard;
    auto fut = std::async(std::launch::async, [&] { return run(guard.get_token()); });
    bool returned = WaitReady(fut, limit);
    if (!returned) guard.request_stop();
    fut.wait();
    if (!returned) {
      ADD_FAILURE() << "poll() did not return within " << limit.count() << " ms";
      return std::nullopt;
    }
    return fut.get();
  }

  std::optional<pgqrs::Consumer> c_;
};

TEST_P(HandlerTest, ExecuteArchivesOnSuccess) {
  auto id = pgqrs::enqueue().message({{"job", "x"}}).to("q").execute(store())[0];
  std::vector<pgqrs::QueueMessage> seen;
  bool ran = pgqrs::dequeue()
                 .worker(c())
                 .handle([&](const pgqrs::QueueMessage& m) { seen.push_back(m); })
                 .execute(store());
  EXPECT_TRUE(ran);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, id);
  EXPECT_EQ(seen[0].payload, (pgqrs::json{{"job", "x"}}));
  EXPECT_EQ(seen[0].read_ct, 1);
  EXPECT_TRUE(admin().get_message(id).archived_at.has_value());
  EXPECT_EQ(admin().queue_metrics("q").archived, 1u);
}

TEST_P(HandlerTest, ExecuteOnEmptyQueueReturnsFalseWithoutCallingHandler) {
  int calls = 0;
  EXPECT_FALSE(pgqrs::dequeue()
                   .from("q")
                   .handle([&](const pgqrs::QueueMessage&) { ++calls; })
                   .execute(store()));
  EXPECT_EQ(calls, 0);
}

TEST_P(HandlerTest, ExecuteWithoutWorkerUsesEphemeralConsumerAndArchives) {
  auto id = EnqueueNumbers("q", 1)[0];
  EXPECT_TRUE(
      pgqrs::dequeue().from("q").handle([](const pgqrs::QueueMessage&) {}).execute(store()));
  EXPECT_TRUE(admin().get_message(id).archived_at.has_value());
}

TEST_P(HandlerTest, ExecuteRethrowsHandlersOwnExceptionType) {
  EnqueueNumbers("q", 2);
  try {
    pgqrs::dequeue()
        .worker(c())
        .handle([](const pgqrs::QueueMessage&) { throw HandlerBoom(7); })
        .execute(store());
    ADD_FAILURE() << "execute() swallowed the handler's exception";
  } catch (const HandlerBoom& e) {
    EXPECT_EQ(e.code, 7) << "the very exception object is rethrown";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "handler exception was translated into: " << e.what();
  }
  try {
    pgqrs::dequeue()
        .worker(c())
        .handle([](const pgqrs::QueueMessage&) { throw NotAnException{42}; })
        .execute(store());
    ADD_FAILURE() << "execute() swallowed the handler's exception";
  } catch (const NotAnException& e) {
    EXPECT_EQ(e.value, 42);
  } catch (...) {
    ADD_FAILURE() << "a non-std exception from the handler was not rethrown unchanged";
  }
}

TEST_P(HandlerTest, ExecuteFailureReleasesWithBackoffAndCountsDelivery) {
  auto id = EnqueueNumbers("q", 1)[0];
  EXPECT_THROW(pgqrs::dequeue()
                   .worker(c())
                   .retry_backoff(NoJitter(1000ms))
                   .handle([](const pgqrs::QueueMessage&) { throw HandlerBoom(1); })
                   .execute(store()),
               HandlerBoom);
  pgqrs::QueueMessage m = admin().get_message(id);
  EXPECT_FALSE(m.archived_at.has_value());
  EXPECT_EQ(m.read_ct, 1);
  EXPECT_FALSE(m.consumer_worker_id.has_value()) << "released, not held";
  EXPECT_NEAR(MillisBetween(m.vt, now()), 1000, 1) << "backoff base * 2^(read_ct-1)";
  EXPECT_EQ(admin().queue_metrics("q").delayed, 1u);

  auto other = pgqrs::consumer("other", "q").create(store());
  Advance(999ms);
  EXPECT_TRUE(other.dequeue(1).empty()) << "invisible during the backoff";
  Advance(1ms);
  auto got = other.dequeue(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].read_ct, 2);
}

TEST_P(HandlerTest, BackoffDoublesWithEachDelivery) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto failing = pgqrs::dequeue()
                     .worker(c())
                     .retry_backoff(NoJitter(1000ms))
                     .handle([](const pgqrs::QueueMessage&) { throw HandlerBoom(1); });
  EXPECT_THROW(failing.execute(store()), HandlerBoom);
  Advance(1000ms);
  EXPECT_THROW(failing.execute(store()), HandlerBoom);
  EXPECT_EQ(admin().get_message(id).read_ct, 2);
  EXPECT_NEAR(MillisBetween(admin().get_message(id).vt, now()), 2000, 1);
  Advance(1999ms);
  EXPECT_FALSE(failing.execute(store())) << "still backing off";
  Advance(1ms);
  EXPECT_THROW(failing.execute(store()), HandlerBoom);
  EXPECT_NEAR(MillisBetween(admin().get_message(id).vt, now()), 4000, 1);
}

TEST_P(HandlerTest, DefaultBackoffWithJitterHidesMessageForHalfToFullBase) {
  auto id = EnqueueNumbers("q", 1)[0];
  EXPECT_THROW(pgqrs::dequeue()
                   .worker(c())
                   .handle([](const pgqrs::QueueMessage&) { throw HandlerBoom(1); })
                   .execute(store()),
               HandlerBoom);
  const long long delay = MillisBetween(admin().get_message(id).vt, now());
  EXPECT_GE(delay, 499);
  EXPECT_LE(delay, 1001);
  auto other = pgqrs::consumer("other", "q").create(store());
  Advance(499ms);
  EXPECT_TRUE(other.dequeue(1).empty());
  Advance(501ms);
  EXPECT_EQ(other.dequeue(1).size(), 1u);
}

TEST_P(HandlerTest, HandleBatchExecuteProcessesAndArchivesTheBatch) {
  auto ids = EnqueueNumbers("q", 5);
  std::vector<std::int64_t> seen;
  bool ran = pgqrs::dequeue()
                 .worker(c())
                 .batch(3)
                 .handle_batch([&](const std::vector<pgqrs::QueueMessage>& msgs) {
                   for (const auto& m : msgs) seen.push_back(m.id);
                 })
                 .execute(store());
  EXPECT_TRUE(ran);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{ids[0], ids[1], ids[2]}));
  pgqrs::QueueMetrics m = admin().queue_metrics("q");
  EXPECT_EQ(m.archived, 3u);
  EXPECT_EQ(m.pending, 2u);
}

TEST_P(HandlerTest, HandleBatchFailureReleasesWholeBatchWithBackoff) {
  EnqueueNumbers("q", 3);
  EXPECT_THROW(
      pgqrs::dequeue()
          .worker(c())
          .batch(3)
          .retry_backoff(NoJitter(5000ms))
          .handle_batch([](const std::vector<pgqrs::QueueMessage>&) { throw HandlerBoom(3); })
          .execute(store()),
      HandlerBoom);
  pgqrs::QueueMetrics m = admin().queue_metrics("q");
  EXPECT_EQ(m.archived, 0u);
  EXPECT_EQ(m.leased, 0u);
  EXPECT_EQ(m.delayed, 3u);
  Advance(5000ms);
  EXPECT_EQ(c().dequeue(10).size(), 3u);
}

TEST_P(HandlerTest, PollUntilEmptyDrainsTheQueue) {
  EnqueueNumbers("q", 25);
  std::set<int> seen;
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(c())
        .until_empty()
        .stop_token(tok)
        .handle([&](const pgqrs::QueueMessage& m) { seen.insert(m.payload["n"].get<int>()); })
        .poll(store());
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->processed, 25u);
  EXPECT_EQ(stats->failed, 0u);
  EXPECT_EQ(stats->stop, pgqrs::PollStop::kEmpty) << pgqrs::to_string(stats->stop);
  EXPECT_EQ(seen.size(), 25u);
  pgqrs::QueueMetrics m = admin().queue_metrics("q");
  EXPECT_EQ(m.archived, 25u);
  EXPECT_EQ(m.pending + m.leased + m.delayed, 0u);
  EXPECT_EQ(c().status(), pgqrs::WorkerStatus::kReady) << "polling -> ready when poll ends";
}

TEST_P(HandlerTest, HandleBatchPollUntilEmptyDrainsInBatches) {
  EnqueueNumbers("q", 23);
  std::size_t largest = 0;
  std::size_t total = 0;
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(c())
        .batch(5)
        .until_empty()
        .stop_token(tok)
        .handle_batch([&](const std::vector<pgqrs::QueueMessage>& msgs) {
          largest = std::max(largest, msgs.size());
          total += msgs.size();
        })
        .poll(store());
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(total, 23u);
  EXPECT_LE(largest, 5u);
  EXPECT_EQ(stats->processed, 23u);
  EXPECT_GE(stats->batches, 5u);
  EXPECT_EQ(admin().queue_metrics("q").archived, 23u);
}

TEST_P(HandlerTest, PollContinuesAfterHandlerException) {
  auto ids = EnqueueNumbers("q", 5);
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(c())
        .until_empty()
        .stop_token(tok)
        .handle([](const pgqrs::QueueMessage& m) {
          if (m.payload["n"] == 2) throw HandlerBoom(2);
        })
        .poll(store());
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->processed, 4u);
  EXPECT_EQ(stats->failed, 1u);
  pgqrs::QueueMessage failed = admin().get_message(ids[2]);
  EXPECT_FALSE(failed.archived_at.has_value());
  EXPECT_EQ(failed.read_ct, 1);
  EXPECT_GT(MillisBetween(failed.vt, now()), 0) << "released with a backoff";
  pgqrs::QueueMetrics m = admin().queue_metrics("q");
  EXPECT_EQ(m.archived, 4u);
  EXPECT_EQ(m.delayed, 1u);
}

TEST_P(HandlerTest, WorkerIsPollingWhileHandlerPollRuns) {
  EnqueueNumbers("q", 1);
  std::optional<pgqrs::WorkerStatus> during;
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(c())
        .until_empty()
        .stop_token(tok)
        .handle([&](const pgqrs::QueueMessage&) { during = c().status(); })
        .poll(store());
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(during, pgqrs::WorkerStatus::kPolling);
  EXPECT_EQ(c().status(), pgqrs::WorkerStatus::kReady);
}

// The loop's heartbeats and lease extensions keep the store's clock: moving the ManualClock
// makes them due at once. Each test moves the clock inside the handler and waits (bounded,
// real time) for the lease keeper's thread to write the effect.
TEST_P(HandlerTest, PollSendsHeartbeatsWhileHandlerRuns) {
  pgqrs::Store s = MakeStore([](pgqrs::Config& cfg) { cfg.heartbeat_interval_seconds = 1; });
  MakeQueue(s, "q");
  EnqueueNumbers(s, "q", 1);
  auto w = pgqrs::consumer("w", "q").create(s);
  const pgqrs::TimePoint created = w.info().heartbeat_at;
  bool beat = false;
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(w)
        .with_vt(300s)  // the lease outlives the slow handler; only heartbeats matter here
        .until_empty()
        .stop_token(tok)
        .handle([&](const pgqrs::QueueMessage&) {
          clock_->advance(60s);  // a slow handler, on the injected clock
          beat = EventuallyTrue(
              [&] { return MillisBetween(w.info().heartbeat_at, created) >= 60000; }, 5000ms);
        })
        .poll(s);
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_TRUE(beat) << "no heartbeat was sent while the handler ran (heartbeat_interval 1 s)";
  EXPECT_EQ(stats->processed, 1u);
}

TEST_P(HandlerTest, LeaseIsExtendedWhileHandlerRunsSoASlowHandlerKeepsItsMessage) {
  auto id = EnqueueNumbers("q", 1)[0];
  auto other = pgqrs::consumer("other", "q").create(store());
  bool stolen = false;
  int extensions = 0;
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(c())
        .with_vt(3s)
        .until_empty()
        .stop_token(tok)
        .handle([&](const pgqrs::QueueMessage&) {
          // 4 s of injected time against a 3 s lease, one extension period (lease/3) at a
          // time: each step makes an extension due, which must move vt to now + lease.
          for (int i = 0; i < 4; ++i) {
            clock_->advance(1s);
            const pgqrs::TimePoint want = now() + 3s;
            if (EventuallyTrue([&] { return admin().get_message(id).vt >= want; }, 5000ms)) {
              ++extensions;
            }
            if (!other.dequeue(1).empty()) stolen = true;
          }
        })
        .poll(store());
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(extensions, 4) << "the lease was not extended to now + 3 s every 1 s of the clock";
  EXPECT_FALSE(stolen) << "another consumer got the message while its handler still ran";
  EXPECT_TRUE(admin().get_message(id).archived_at.has_value())
      << "the slow handler's message was not archived (lease lapsed)";
  EXPECT_EQ(admin().get_message(id).read_ct, 1);
}

// PollStats.processed counts messages "whose handler returned normally (archived)": a
// message whose lease lapsed while its handler ran cannot be archived by this worker and
// must not be counted.
TEST_P(HandlerTest, PollStatsProcessedCountsOnlyArchivedMessages) {
  auto id = EnqueueNumbers("q", 1)[0];
  int calls = 0;
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(c())
        .with_vt(30s)
        .until_empty()
        .stop_token(tok)
        .handle([&](const pgqrs::QueueMessage&) {
          // The first run jumps past its lease at once (no chance to extend it).
          if (++calls == 1) clock_->advance(31s);
        })
        .poll(store());
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(calls, 2) << "the lapsed message is redelivered";
  EXPECT_EQ(admin().get_message(id).read_ct, 2);
  EXPECT_EQ(admin().queue_metrics("q").archived, 1u);
  EXPECT_EQ(stats->processed, 1u) << "processed must equal the number of archived messages";
}

// Decision H9: the loop starts no handler on a message whose lease is no longer confirmed.
// The first handler of a batch of two runs past the batch's lease (30 s); the second
// message's lease lapsed meanwhile (another consumer could hold it now), so its handler is
// not started in that batch. Both come back and are handled once more, each inside a lease
// that handler_lease_valid_until() reports (the confirmed end minus lease/10).
TEST_P(HandlerTest, NoHandlerStartsOnAMessageWhoseLeaseLapsed) {
  EnqueueNumbers("q", 2);
  const pgqrs::TimePoint t0 = now();
  std::vector<int> deliveries;  // read_ct of each handler call
  std::vector<pgqrs::TimePoint> starts;
  std::vector<std::optional<pgqrs::TimePoint>> valid;
  auto stats = RunPoll([&](std::stop_token tok) {
    return pgqrs::dequeue()
        .worker(c())
        .batch(2)
        .with_vt(30s)
        .until_empty()
        .stop_token(tok)
        .handle([&](const pgqrs::QueueMessage& m) {
          deliveries.push_back(m.read_ct);
          starts.push_back(now());
          valid.push_back(pgqrs::handler_lease_valid_until());
          if (deliveries.size() == 1) clock_->advance(31s);
        })
        .poll(store());
  });
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(deliveries, (std::vector<int>{1, 2, 2}))
      << "the second message of the first batch was handled after its lease lapsed";
  ASSERT_EQ(valid.size(), starts.size());
  for (std::size_t i = 0; i < valid.size(); ++i) {
    ASSERT_TRUE(valid[i].has_value()) << "call " << i;
    EXPECT_LT(starts[i], *valid[i]) << "call " << i << " started without a valid lease";
  }
  EXPECT_GT(*valid[0], t0 + 26s);
  EXPECT_LE(*valid[0], t0 + 27s) << "valid until the lease end (t0 + 30 s) minus 3 s";
  EXPECT_EQ(admin().queue_metrics("q").archived, 2u);
  EXPECT_EQ(stats->processed, 2u);
  EXPECT_EQ(stats->lease_lost, 2u) << "one lapsed before its start, one could not be archived";
  EXPECT_FALSE(pgqrs::handler_lease_valid_until().has_value()) << "outside a handler";
}

// .until() is measured on the store's clock: the loop returns when the test moves the
// clock to the deadline, not before, and without any real time passing.
TEST_P(HandlerTest, HandlerPollUntilReturnsDeadlineOnEmptyQueue) {
  std::stop_source guard;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue()
        .worker(c())
        .until(200ms)
        .stop_token(guard.get_token())
        .handle([](const pgqrs::QueueMessage&) {})
        .poll(store());
  });
  const std::string failure = DriveToDeadline(fut, 200ms, 2);
  if (!failure.empty()) guard.request_stop();
  fut.wait();
  ASSERT_EQ(failure, "") << "poll().until(200ms)";
  pgqrs::PollStats stats = fut.get();
  EXPECT_EQ(stats.stop, pgqrs::PollStop::kDeadline) << pgqrs::to_string(stats.stop);
  EXPECT_EQ(stats.processed, 0u);
}

TEST_P(HandlerTest, StopTokenEndsHandlerPoll) {
  std::stop_source source;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue()
        .worker(c())
        .stop_token(source.get_token())
        .handle([](const pgqrs::QueueMessage&) {})
        .poll(store());
  });
  ASSERT_TRUE(WaitForWaiters(2)) << "the poll loop never went idle";
  EXPECT_FALSE(WaitReady(fut, 0ms)) << "poll() must keep waiting on an empty queue";
  source.request_stop();  // the clock never moves: only the stop request can end the wait
  ASSERT_TRUE(WaitReady(fut, 2000ms)) << "poll() did not return within 2 s of request_stop";
  EXPECT_EQ(fut.get().stop, pgqrs::PollStop::kStopRequested);
}

TEST_P(HandlerTest, HandlerPollPicksUpMessagesEnqueuedWhileWaiting) {
  std::atomic<int> handled{0};
  std::stop_source source;
  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::dequeue()
        .worker(c())
        .stop_token(source.get_token())
        .handle([&](const pgqrs::QueueMessage&) { ++handled; })
        .poll(store());
  });
  ASSERT_TRUE(WaitForWaiters(2)) << "the poll loop never went idle";
  EnqueueNumbers("q", 3);  // the clock never moves: the enqueue's wake-up must do it
  bool all = EventuallyTrue([&] { return handled.load() == 3; }, 5000ms);
  source.request_stop();
  fut.wait();
  EXPECT_TRUE(all) << "handled " << handled.load() << " of 3";
  EXPECT_EQ(admin().queue_metrics("q").archived, 3u);
}

TEST(RetryBackoffTest, DelayIsExponentialAndCappedWithoutJitter) {
  pgqrs::RetryBackoff b = NoJitter(1000ms, 10000ms);
  EXPECT_EQ(b.delay_for(1), 1000ms);
  EXPECT_EQ(b.delay_for(2), 2000ms);
  EXPECT_EQ(b.delay_for(3), 4000ms);
  EXPECT_EQ(b.delay_for(4), 8000ms);
  EXPECT_EQ(b.delay_for(5), 10000ms);
  EXPECT_EQ(b.delay_for(60), 10000ms) << "no overflow for large read counts";
}

TEST(RetryBackoffTest, JitterStaysWithinHalfToFullDelay) {
  pgqrs::RetryBackoff b;  // base 1 s, cap 60 s, jitter on
  std::set<long long> distinct;
  for (int i = 0; i < 200; ++i) {
    auto d = b.delay_for(3);  // nominal 4 s
    EXPECT_GE(d, 2000ms);
    EXPECT_LE(d, 4000ms);
    distinct.insert(d.count());
  }
  EXPECT_GT(distinct.size(), 1u) << "jitter should vary";
  for (int i = 0; i < 50; ++i) {
    auto d = b.delay_for(40);
    EXPECT_GE(d, 30000ms);
    EXPECT_LE(d, 60000ms);
  }
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(HandlerTest);

}  // namespace pgqrs_test
