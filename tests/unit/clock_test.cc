// The Clock wait contract (include/pgqrs/clock.h): ManualClock waiters wake when the clock is
// moved to their deadline and on notify(); the real-time waiter times out and wakes on
// notify(). Real time here only bounds how long a broken waiter can hang the test.
#include "pgqrs/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace {

using namespace std::chrono_literals;

const pgqrs::TimePoint kStart{std::chrono::seconds(1'900'000'000)};

// Waits (real time, bounded) until `n` threads are blocked on `clock`.
bool Blocked(const pgqrs::ManualClock& clock, std::size_t n) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (clock.waiting() < n) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

TEST(ManualClockTest, NowMovesOnlyWithAdvanceAndSet) {
  pgqrs::ManualClock clock(kStart);
  EXPECT_EQ(clock.now(), kStart);
  clock.advance(1500ms);
  EXPECT_EQ(clock.now(), kStart + 1500ms);
  clock.set(kStart - 1h);
  EXPECT_EQ(clock.now(), kStart - 1h);
}

TEST(ManualClockTest, WaitReturnsAtOnceWhenPredHoldsOrDeadlinePassed) {
  pgqrs::ManualClock clock(kStart);
  auto w = clock.make_waiter();
  EXPECT_TRUE(w->wait_until(pgqrs::TimePoint::max(), [] { return true; }));
  EXPECT_FALSE(w->wait_until(kStart, [] { return false; })) << "deadline == now has passed";
  EXPECT_FALSE(w->wait_until(kStart - 1s, [] { return false; }));
  EXPECT_EQ(clock.waiting(), 0u);
}

TEST(ManualClockTest, AWaiterWakesExactlyWhenTheClockReachesItsDeadline) {
  pgqrs::ManualClock clock(kStart);
  auto w = clock.make_waiter();
  auto fut = std::async(std::launch::async,
                        [&] { return w->wait_until(kStart + 10s, [] { return false; }); });
  ASSERT_TRUE(Blocked(clock, 1));
  clock.advance(9999ms);
  ASSERT_TRUE(Blocked(clock, 1));
  EXPECT_EQ(fut.wait_for(0ms), std::future_status::timeout) << "woke before its deadline";
  clock.set(kStart - 1h);  // backwards: still waiting
  ASSERT_TRUE(Blocked(clock, 1));
  EXPECT_EQ(fut.wait_for(0ms), std::future_status::timeout);
  clock.set(kStart + 10s);
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(fut.get()) << "woken by the deadline, not the predicate";
  EXPECT_EQ(clock.waiting(), 0u);
}

TEST(ManualClockTest, NotifyWakesEveryWaiterToRecheckItsPredicate) {
  pgqrs::ManualClock clock(kStart);
  auto w = clock.make_waiter();
  std::atomic<bool> flag{false};
  auto wait = [&] { return w->wait_until(pgqrs::TimePoint::max(), [&] { return flag.load(); }); };
  auto a = std::async(std::launch::async, wait);
  auto b = std::async(std::launch::async, wait);
  ASSERT_TRUE(Blocked(clock, 2));
  w->notify();  // the predicate is still false: both go back to waiting
  ASSERT_TRUE(Blocked(clock, 2));
  EXPECT_EQ(a.wait_for(0ms), std::future_status::timeout);
  flag.store(true);
  w->notify();
  ASSERT_EQ(a.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(b.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
}

TEST(ManualClockTest, AMoveBetweenWaitsEndsTheNextWaitAtOnce) {
  pgqrs::ManualClock clock(kStart);
  auto w = clock.make_waiter();
  // The caller read now() (kStart) and was busy when the test moved the clock: its next wait
  // (planned from the time it read) must not block past the move.
  clock.advance(1s);
  EXPECT_FALSE(w->wait_until(kStart + 2s, [] { return false; }))
      << "returns so the caller re-checks the time";
  // Accounted for now: the next wait blocks until the clock reaches its deadline.
  auto fut = std::async(std::launch::async,
                        [&] { return w->wait_until(kStart + 2s, [] { return false; }); });
  ASSERT_TRUE(Blocked(clock, 1));
  EXPECT_EQ(fut.wait_for(0ms), std::future_status::timeout);
  clock.advance(1s);
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
}

TEST(ManualClockTest, AWaiterOutlivesItsClock) {
  std::unique_ptr<pgqrs::Clock::Waiter> w;
  {
    pgqrs::ManualClock clock(kStart);
    w = clock.make_waiter();
  }
  EXPECT_FALSE(w->wait_until(kStart, [] { return false; }));
  w->notify();
}

TEST(SystemClockTest, AWaiterTimesOutInRealTimeAndWakesOnNotify) {
  pgqrs::SystemClock clock;
  auto w = clock.make_waiter();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(w->wait_until(clock.now() + 30ms, [] { return false; }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 29ms);

  std::atomic<bool> flag{false};
  auto fut = std::async(std::launch::async, [&] {
    return w->wait_until(pgqrs::TimePoint::max(), [&] { return flag.load(); });
  });
  flag.store(true);
  w->notify();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready) << "notify() did not wake the waiter";
  EXPECT_TRUE(fut.get());
}

}  // namespace
