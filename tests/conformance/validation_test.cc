// SPEC §7: payload validation and the enqueue rate limit. Every bad input is a typed error
// whose message says what is wrong, and stored data is unchanged.
#include <cmath>
#include <limits>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class ValidationTest : public ConformanceTest {
 protected:
  // A store with `tweak` applied and an empty queue "q".
  pgqrs::Store StoreWith(const std::function<void(pgqrs::Config&)>& tweak) {
    pgqrs::Store s = MakeStore(tweak);
    MakeQueue(s, "q");
    return s;
  }

  // Enqueue `payload` to "q" on `s`; expect a ValidationError whose message mentions one
  // of `words`, and nothing stored.
  void ExpectRejected(const pgqrs::Store& s, const pgqrs::json& payload,
                      const std::vector<std::string>& words, const char* what) {
    std::string msg = ExpectThrowMessage<pgqrs::ValidationError>(
        [&] { pgqrs::enqueue().message(payload).to("q").execute(s); }, what);
    EXPECT_TRUE(ContainsAny(msg, words))
        << what << ": message should mention one of the key words; got: " << msg;
    EXPECT_TRUE(AllMessages(s, "q").empty()) << what << ": nothing may be stored";
  }

  static pgqrs::json Nested(int depth) {
    pgqrs::json v = 1;
    for (int i = 0; i < depth; ++i) v = pgqrs::json{{"k", v}};
    return v;
  }
};

TEST_P(ValidationTest, OversizePayloadRejectedWithDefaultLimit) {
  MakeQueue("q");
  // Just over 1 MiB serialised, made of short strings (so only the size limit applies).
  pgqrs::json big = pgqrs::json::array();
  while (big.dump().size() <= 1024 * 1024) {
    for (int i = 0; i < 1000; ++i) big.push_back("0123456789abcdef");
  }
  ExpectRejected(store(), {{"data", big}}, {"size", "byte", "large"}, "payload > 1 MiB");
}

TEST_P(ValidationTest, ConfiguredPayloadSizeLimitApplies) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) { c.validation.max_payload_size_bytes = 256; });
  ExpectRejected(s, {{"data", std::string(300, 'x')}}, {"size", "byte", "large"},
                 "payload > 256 bytes");
  EXPECT_NO_THROW(pgqrs::enqueue().message({{"data", std::string(100, 'x')}}).to("q").execute(s));
}

TEST_P(ValidationTest, DepthBeyondLimitRejected) {
  MakeQueue("q");
  ExpectRejected(store(), Nested(40), {"depth", "nest"}, "depth 40 > 32");
  EXPECT_NO_THROW(pgqrs::enqueue().message(Nested(10)).to("q").execute(store()));
}

TEST_P(ValidationTest, ConfiguredDepthLimitApplies) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) { c.validation.max_object_depth = 3; });
  ExpectRejected(s, Nested(6), {"depth", "nest"}, "depth 6 > 3");
  EXPECT_NO_THROW(pgqrs::enqueue().message(Nested(2)).to("q").execute(s));
}

TEST_P(ValidationTest, NonFiniteNumbersRejected) {
  MakeQueue("q");
  ExpectRejected(store(), {{"x", std::numeric_limits<double>::quiet_NaN()}},
                 {"finite", "nan", "infin"}, "NaN value");
  ExpectRejected(store(), {{"x", std::numeric_limits<double>::infinity()}},
                 {"finite", "nan", "infin"}, "+Inf value");
  ExpectRejected(store(), {{"arr", {1.0, -std::numeric_limits<double>::infinity()}}},
                 {"finite", "nan", "infin"}, "-Inf nested in an array");
}

TEST_P(ValidationTest, ForbiddenKeyRejectedNamingTheKey) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) {
    c.validation.forbidden_keys = {"password", "ssn"};
  });
  ExpectRejected(s, {{"user", "u"}, {"password", "hunter2"}}, {"password"}, "forbidden key");
  EXPECT_NO_THROW(pgqrs::enqueue().message({{"user", "u"}}).to("q").execute(s));
}

TEST_P(ValidationTest, MissingRequiredKeyRejectedNamingTheKey) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) { c.validation.required_keys = {"task_id"}; });
  ExpectRejected(s, {{"other", 1}}, {"task_id"}, "required key missing");
  EXPECT_NO_THROW(pgqrs::enqueue().message({{"task_id", 1}}).to("q").execute(s));
}

TEST_P(ValidationTest, StringLongerThanMaxStringLengthRejected) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) { c.validation.max_string_length = 16; });
  ExpectRejected(s, {{"s", std::string(17, 'y')}}, {"string", "length", "long"},
                 "string value > 16");
  ExpectRejected(s, {{std::string(17, 'k'), 1}}, {"string", "length", "long", "key"}, "key > 16");
  EXPECT_NO_THROW(pgqrs::enqueue().message({{"s", std::string(16, 'y')}}).to("q").execute(s));
}

TEST_P(ValidationTest, RejectedPayloadInBatchStoresNothing) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) { c.validation.forbidden_keys = {"secret"}; });
  std::vector<pgqrs::json> batch;
  for (int i = 0; i < 10; ++i) batch.push_back({{"n", i}});
  batch.push_back({{"secret", 1}});
  std::string msg = ExpectThrowMessage<pgqrs::ValidationError>(
      [&] { pgqrs::enqueue().messages(batch).to("q").execute(s); }, "batch with forbidden key");
  EXPECT_TRUE(ContainsAny(msg, {"secret"})) << msg;
  EXPECT_TRUE(AllMessages(s, "q").empty());
}

TEST_P(ValidationTest, ValidationErrorIsNotRetryable) {
  MakeQueue("q");
  try {
    pgqrs::enqueue()
        .message({{"x", std::numeric_limits<double>::quiet_NaN()}})
        .to("q")
        .execute(store());
    FAIL() << "expected ValidationError";
  } catch (const pgqrs::ValidationError& e) {
    EXPECT_EQ(e.code(), pgqrs::ErrorCode::kValidation);
    EXPECT_FALSE(e.retryable());
  }
}

// ---- rate limit ------------------------------------------------------------------------

TEST_P(ValidationTest, RateLimitOffByDefault) {
  MakeQueue("q");
  EXPECT_FALSE(store().config().validation.max_enqueue_per_second.has_value());
  for (int i = 0; i < 50; ++i) pgqrs::enqueue().message({{"i", i}}).to("q").execute(store());
  EXPECT_EQ(admin().queue_metrics("q").pending, 50u);
}

TEST_P(ValidationTest, BatchLargerThanBurstIsRateLimitedWithoutRetryAfter) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) {
    c.validation.max_enqueue_per_second = 10.0;
    c.validation.max_enqueue_burst = 5;
  });
  std::vector<pgqrs::json> batch(6, pgqrs::json{{"x", 1}});
  try {
    pgqrs::enqueue().messages(batch).to("q").execute(s);
    FAIL() << "expected RateLimitedError for a batch larger than the burst";
  } catch (const pgqrs::RateLimitedError& e) {
    EXPECT_FALSE(e.retry_after().has_value()) << "it can never fit: no retry_after";
    EXPECT_FALSE(e.retryable());
    EXPECT_TRUE(ContainsAny(e.what(), {"burst"})) << e.what();
  }
  EXPECT_TRUE(AllMessages(s, "q").empty());
  // A batch that fits the burst is accepted.
  EXPECT_EQ(
      pgqrs::enqueue().messages(std::vector<pgqrs::json>(5, {{"x", 1}})).to("q").execute(s).size(),
      5u);
}

TEST_P(ValidationTest, ExceedingRateIsRateLimitedWithRetryAfterUntilClockRefills) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) {
    c.validation.max_enqueue_per_second = 1.0;
    c.validation.max_enqueue_burst = 2;
  });
  pgqrs::enqueue().message({{"i", 1}}).to("q").execute(s);
  pgqrs::enqueue().message({{"i", 2}}).to("q").execute(s);
  try {
    pgqrs::enqueue().message({{"i", 3}}).to("q").execute(s);
    FAIL() << "expected RateLimitedError once the burst is spent";
  } catch (const pgqrs::RateLimitedError& e) {
    ASSERT_TRUE(e.retry_after().has_value());
    EXPECT_GT(e.retry_after()->count(), 0);
    EXPECT_LE(e.retry_after()->count(), 1000);
    EXPECT_TRUE(e.retryable());
    EXPECT_EQ(e.code(), pgqrs::ErrorCode::kRateLimited);
  }
  EXPECT_EQ(admin(s).queue_metrics("q").pending, 2u) << "the refused enqueue stored nothing";
  Advance(1s);  // one token refills (the limiter uses the injected clock)
  EXPECT_NO_THROW(pgqrs::enqueue().message({{"i", 3}}).to("q").execute(s));
  EXPECT_THROW(pgqrs::enqueue().message({{"i", 4}}).to("q").execute(s), pgqrs::RateLimitedError);
}

TEST_P(ValidationTest, RateLimitAppliesToProducersToo) {
  pgqrs::Store s = StoreWith([](pgqrs::Config& c) {
    c.validation.max_enqueue_per_second = 1.0;
    c.validation.max_enqueue_burst = 1;
  });
  auto p = pgqrs::producer("p", "q").create(s);
  p.enqueue({{"i", 1}});
  EXPECT_THROW(p.enqueue({{"i", 2}}), pgqrs::RateLimitedError);
  EXPECT_THROW(p.batch_enqueue({{{"i", 3}}, {{"i", 4}}}), pgqrs::RateLimitedError);
  EXPECT_EQ(admin(s).queue_metrics("q").pending, 1u);
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(ValidationTest);

}  // namespace pgqrs_test
