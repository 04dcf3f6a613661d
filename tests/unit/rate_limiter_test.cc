// The enqueue token bucket (SPEC §7), driven by explicit times.
#include <gtest/gtest.h>

#include "core/rate_limiter.h"
#include "pgqrs/dequeue.h"
#include "pgqrs/error.h"

using namespace std::chrono_literals;
using pgqrs::RateLimitedError;
using pgqrs::core::RateLimiter;

TEST(RateLimiter, OffByDefault) {
  RateLimiter limiter({});
  pgqrs::TimePoint t{};
  EXPECT_NO_THROW(limiter.acquire(1'000'000, t));
}

TEST(RateLimiter, BatchLargerThanBurstNeverFits) {
  pgqrs::ValidationConfig cfg;
  cfg.max_enqueue_per_second = 10;
  cfg.max_enqueue_burst = 5;
  RateLimiter limiter(cfg);
  try {
    limiter.acquire(6, pgqrs::TimePoint{});
    FAIL();
  } catch (const RateLimitedError& e) {
    EXPECT_FALSE(e.retry_after().has_value());
    EXPECT_FALSE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("burst"), std::string::npos);
  }
}

TEST(RateLimiter, RefillsAtTheConfiguredRate) {
  pgqrs::ValidationConfig cfg;
  cfg.max_enqueue_per_second = 10;
  cfg.max_enqueue_burst = 5;
  RateLimiter limiter(cfg);
  pgqrs::TimePoint t{};
  limiter.acquire(5, t);
  try {
    limiter.acquire(1, t);
    FAIL();
  } catch (const RateLimitedError& e) {
    ASSERT_TRUE(e.retry_after().has_value());
    EXPECT_EQ(e.retry_after()->count(), 100);
    EXPECT_TRUE(e.retryable());
  }
  EXPECT_NO_THROW(limiter.acquire(1, t + 100ms));
  EXPECT_THROW(limiter.acquire(1, t + 100ms), RateLimitedError);
  EXPECT_NO_THROW(limiter.acquire(5, t + 10s));  // capped at the burst, not 100 tokens
  EXPECT_THROW(limiter.acquire(1, t + 10s), RateLimitedError);
}

TEST(RetryBackoff, ExponentialCappedAndJittered) {
  pgqrs::RetryBackoff b{100ms, 1000ms, false};
  EXPECT_EQ(b.delay_for(1), 100ms);
  EXPECT_EQ(b.delay_for(2), 200ms);
  EXPECT_EQ(b.delay_for(4), 800ms);
  EXPECT_EQ(b.delay_for(5), 1000ms);
  EXPECT_EQ(b.delay_for(60), 1000ms);
  pgqrs::RetryBackoff j{100ms, 1000ms, true};
  for (int i = 0; i < 100; ++i) {
    auto d = j.delay_for(3);
    EXPECT_GE(d, 200ms);
    EXPECT_LE(d, 400ms);
  }
}
