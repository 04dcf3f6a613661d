// Flow control (issue 14): queue options are stored on the queue row, set at creation,
// changeable later, shown by get/list, and validated before anything is stored.
#include <string>

#include "conformance/backend_fixture.h"
#include "pgqrs/queue_options.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class FlowOptionsTest : public ConformanceTest {};

pgqrs::QueueOptions EveryOption() {
  pgqrs::QueueOptions o;
  o.concurrency = 3;
  o.worker_concurrency = 2;
  o.key_concurrency = 1;
  o.rate_limit = pgqrs::RateLimit{100, 1s};
  o.retain_archived = 7 * 24h;
  o.retain_dead = 30 * 24h;
  return o;
}

TEST_P(FlowOptionsTest, NewQueueHasNoOptions) {
  const pgqrs::QueueInfo q = store().queue("plain");
  EXPECT_EQ(q.options, pgqrs::QueueOptions{});
  EXPECT_FALSE(admin().get_queue("plain").options.limited());
}

TEST_P(FlowOptionsTest, OptionsSetAtCreationAreStoredAndShown) {
  const pgqrs::QueueInfo made = store().queue("limited", EveryOption());
  EXPECT_EQ(made.options, EveryOption());
  EXPECT_EQ(admin().get_queue("limited").options, EveryOption());
  const auto all = admin().list_queues();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].options, EveryOption());
}

TEST_P(FlowOptionsTest, UpdateChangesOnlyWhatTheEditChanges) {
  store().queue("q", EveryOption());
  const pgqrs::QueueInfo after = admin().update_queue("q", [](pgqrs::QueueOptions& o) {
    o.concurrency = 10;
    o.rate_limit.reset();
  });
  pgqrs::QueueOptions expected = EveryOption();
  expected.concurrency = 10;
  expected.rate_limit.reset();
  EXPECT_EQ(after.options, expected);
  EXPECT_EQ(admin().get_queue("q").options, expected);
}

TEST_P(FlowOptionsTest, UpdateOfUnknownQueueIsQueueNotFound) {
  EXPECT_THROW(admin().update_queue("nope", [](pgqrs::QueueOptions& o) { o.concurrency = 1; }),
               pgqrs::QueueNotFoundError);
}

// Each bad value is a ValidationError naming the field, and nothing is stored.
TEST_P(FlowOptionsTest, BadOptionsAreTypedErrorsNamingTheFieldAndChangeNothing) {
  struct Case {
    const char* field;
    std::function<void(pgqrs::QueueOptions&)> spoil;
  };
  const std::vector<Case> cases = {
      {"concurrency", [](pgqrs::QueueOptions& o) { o.concurrency = 0; }},
      {"worker_concurrency", [](pgqrs::QueueOptions& o) { o.worker_concurrency = -1; }},
      {"key_concurrency", [](pgqrs::QueueOptions& o) { o.key_concurrency = -5; }},
      {"rate_limit count",
       [](pgqrs::QueueOptions& o) {
         o.rate_limit = {0, 1s};
       }},
      {"rate_limit period",
       [](pgqrs::QueueOptions& o) {
         o.rate_limit = {5, 0s};
       }},
      {"retain_archived", [](pgqrs::QueueOptions& o) { o.retain_archived = -1s; }},
      {"retain_dead", [](pgqrs::QueueOptions& o) { o.retain_dead = -1h; }},
  };
  store().queue("kept", EveryOption());
  for (const Case& c : cases) {
    pgqrs::QueueOptions bad;
    c.spoil(bad);
    const std::string created =
        ExpectThrowMessage<pgqrs::ValidationError>([&] { store().queue("never", bad); }, c.field);
    EXPECT_NE(created.find(c.field), std::string::npos) << created;
    const std::string updated = ExpectThrowMessage<pgqrs::ValidationError>(
        [&] { admin().update_queue("kept", c.spoil); }, c.field);
    EXPECT_NE(updated.find(c.field), std::string::npos) << updated;
  }
  EXPECT_THROW(admin().get_queue("never"), pgqrs::QueueNotFoundError);
  EXPECT_EQ(admin().get_queue("kept").options, EveryOption());
}

TEST_P(FlowOptionsTest, AnEditThatThrowsChangesNothing) {
  store().queue("q", EveryOption());
  EXPECT_THROW(admin().update_queue("q",
                                    [](pgqrs::QueueOptions& o) {
                                      o.concurrency = 99;
                                      throw std::runtime_error("changed my mind");
                                    }),
               std::runtime_error);
  EXPECT_EQ(admin().get_queue("q").options, EveryOption());
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(FlowOptionsTest);

}  // namespace pgqrs_test
