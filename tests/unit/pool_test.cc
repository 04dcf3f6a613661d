// backend::Pool, the connection pool every backend uses (src/backend/pool.h), over plain
// integer handles: bounds, reuse, broken and dead handles, idle limit, open failures.
#include "backend/pool.h"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "pgqrs/error.h"

namespace {

using namespace std::chrono_literals;
using IntPool = pgqrs::backend::Pool<std::unique_ptr<int>>;

// A policy that numbers the handles it opens (1, 2, ...).
IntPool::Policy counting(int& opened) {
  IntPool::Policy p;
  p.open = [&opened](IntPool::Deadline) { return std::make_unique<int>(++opened); };
  return p;
}

auto soon() { return std::chrono::steady_clock::now() + 50ms; }

TEST(Pool, AcquireTimesOutWhenEveryHandleIsLent) {
  int opened = 0;
  IntPool pool(counting(opened), 1, "test");
  auto held = pool.acquire(soon());
  try {
    pool.acquire(soon());
    FAIL() << "expected TimeoutError";
  } catch (const pgqrs::TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("no free connection in the test pool"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(pool.open_count(), 1U);
  EXPECT_EQ(opened, 1);
}

TEST(Pool, AReturnedHandleIsReusedMostRecentFirst) {
  int opened = 0;
  IntPool pool(counting(opened), 3, "test");
  {
    auto a = pool.acquire(soon());
    auto b = pool.acquire(soon());
    EXPECT_EQ(*a, 1);
    EXPECT_EQ(*b, 2);
  }  // destroyed in reverse order: b (2) is returned first, then a (1)
  auto c = pool.acquire(soon());
  EXPECT_EQ(*c, 1);  // the most recently returned
  EXPECT_EQ(opened, 2);
}

TEST(Pool, ABrokenHandleIsClosedAndItsSlotFreed) {
  int opened = 0;
  IntPool pool(counting(opened), 1, "test");
  {
    auto a = pool.acquire(soon());
    a.mark_broken();
  }
  EXPECT_EQ(pool.open_count(), 0U);
  auto b = pool.acquire(soon());
  EXPECT_EQ(*b, 2);
}

TEST(Pool, AnIdleHandleThatDiedIsReplaced) {
  int opened = 0;
  auto policy = counting(opened);
  policy.usable = [](std::unique_ptr<int>& h) { return *h != 1; };  // handle 1 "died"
  IntPool pool(std::move(policy), 1, "test");
  { auto a = pool.acquire(soon()); }
  auto b = pool.acquire(soon());
  EXPECT_EQ(*b, 2);
  EXPECT_EQ(pool.open_count(), 1U);
}

TEST(Pool, RecycleCanRefuseAHandle) {
  int opened = 0;
  auto policy = counting(opened);
  policy.recycle = [](std::unique_ptr<int>&) { return false; };
  IntPool pool(std::move(policy), 2, "test");
  { auto a = pool.acquire(soon()); }
  EXPECT_EQ(pool.open_count(), 0U);
}

TEST(Pool, UnboundedNeverWaitsAndKeepsAtMostMaxIdle) {
  int opened = 0;
  IntPool pool(counting(opened), IntPool::kUnbounded, "test", /*max_idle=*/1);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    auto c = pool.acquire();
    EXPECT_EQ(pool.open_count(), 3U);
  }
  EXPECT_EQ(pool.open_count(), 1U);  // two closed on return
}

TEST(Pool, AFailedOpenGivesItsSlotBack) {
  bool fail = true;
  IntPool::Policy p;
  p.open = [&fail](IntPool::Deadline) {
    if (fail) throw std::runtime_error("cannot open");
    return std::make_unique<int>(7);
  };
  IntPool pool(std::move(p), 1, "test");
  EXPECT_THROW(pool.acquire(soon()), std::runtime_error);
  EXPECT_EQ(pool.open_count(), 0U);
  fail = false;
  EXPECT_EQ(*pool.acquire(soon()), 7);
}

TEST(Pool, DropIdleClosesIdleHandles) {
  int opened = 0;
  IntPool pool(counting(opened), 2, "test");
  { auto a = pool.acquire(soon()); }
  pool.drop_idle();
  EXPECT_EQ(pool.open_count(), 0U);
  EXPECT_EQ(*pool.acquire(soon()), 2);
}

}  // namespace
