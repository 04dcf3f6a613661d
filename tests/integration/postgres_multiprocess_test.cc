// Five OS processes on one Postgres queue: one producer and four consumers
// (pgqrs_queue_worker) started together, 20,000 messages. Every message must be processed
// and archived exactly once, none lost, none delivered to two consumers (every row's
// read_ct is 1: no lease ever had to expire), and every process must exit 0.
//
// Needs PGQRS_TEST_POSTGRES_DSN (make test sets it, see scripts/pg-test-server); skipped
// with that reason otherwise. Runs in a fresh schema, dropped afterwards.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/pg_admin.h"
#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

constexpr int kMessages = 20000;
constexpr int kConsumers = 4;
constexpr auto kTimeout = std::chrono::minutes(5);

TEST(PostgresMultiprocessTest, OneProducerFourConsumersArchiveEveryMessageExactlyOnce) {
  const std::string dsn = Env("PGQRS_TEST_POSTGRES_DSN");
  if (dsn.empty()) GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN is not set: needs a Postgres server";
  PgAdmin admin_db(dsn);
  const std::string schema = admin_db.CreateSchema("mp");
  struct DropAtEnd {
    PgAdmin& db;
    std::string schema;
    ~DropAtEnd() { db.DropSchema(schema); }
  } drop{admin_db, schema};

  ScratchDir dir("pgqrs-pg-mp");
  const std::string queue = "mp_jobs";
  {
    pgqrs::Config config = pgqrs::Config::from_dsn(dsn);
    config.schema = schema;
    pgqrs::Store store = pgqrs::connect_with_config(config);
    pgqrs::admin(store).install();
    store.queue(queue);
  }
  const std::string worker = PGQRS_QUEUE_WORKER_PATH;
  const std::vector<std::string> env = {"PGQRS_SCHEMA=" + schema};
  const std::string expected = std::to_string(kMessages);

  std::vector<std::filesystem::path> outs;
  std::vector<pid_t> consumers;
  for (int i = 0; i < kConsumers; ++i) {
    outs.push_back(dir.path() / ("consumer-" + std::to_string(i) + ".log"));
    consumers.push_back(
        Spawn({worker, "consume", dsn, queue, outs.back().string(), expected}, env));
    ASSERT_GT(consumers.back(), 0) << "could not spawn " << worker;
  }
  const auto started = std::chrono::steady_clock::now();
  pid_t producer = Spawn({worker, "produce", dsn, queue, expected}, env);
  ASSERT_GT(producer, 0);

  std::vector<pid_t> all = consumers;
  all.push_back(producer);
  auto status = WaitAll(all, std::chrono::steady_clock::now() + kTimeout);
  const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  RecordProperty("wall_ms", static_cast<int>(wall_ms));
  EXPECT_EQ(status[producer], 0) << "producer exit status";
  for (int i = 0; i < kConsumers; ++i) {
    EXPECT_EQ(status[consumers[static_cast<std::size_t>(i)]], 0) << "consumer " << i;
  }

  std::map<long, int> seen;
  std::size_t total = 0;
  for (int i = 0; i < kConsumers; ++i) {
    auto got = ReadNumbers(outs[static_cast<std::size_t>(i)]);
    RecordProperty("consumer_" + std::to_string(i) + "_processed", static_cast<int>(got.size()));
    EXPECT_FALSE(got.empty()) << "consumer " << i
                              << " processed nothing (the test is meant to exercise four "
                                 "concurrent consumers)";
    total += got.size();
    for (long n : got) ++seen[n];
  }
  const DeliveryTally tally = TallyDeliveries(seen, kMessages);
  EXPECT_TRUE(tally.duplicates.empty())
      << DescribeNumbers(tally.duplicates, "messages processed more than once");
  EXPECT_TRUE(tally.missing.empty()) << DescribeNumbers(tally.missing, "messages never processed");
  EXPECT_EQ(total, static_cast<std::size_t>(kMessages));

  // The database agrees: every message archived once, delivered once, nothing left.
  pgqrs::Config config = pgqrs::Config::from_dsn(dsn);
  config.schema = schema;
  pgqrs::Store store = pgqrs::connect_with_config(config);
  pgqrs::QueueMetrics m = pgqrs::admin(store).queue_metrics(queue);
  EXPECT_EQ(m.archived, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(m.pending + m.leased + m.delayed + m.dead, 0u);
  EXPECT_EQ(admin_db.Value("SELECT count(*) FROM \"" + schema +
                           "\".pgqrs_messages WHERE read_ct <> 1 OR archived_at IS NULL"),
            "0")
      << "some message was delivered more than once or not archived";
  EXPECT_EQ(
      admin_db.Value("SELECT count(DISTINCT payload->>'n') FROM \"" + schema + "\".pgqrs_messages"),
      std::to_string(kMessages));
  std::cout << "[ info ] 1 producer + " << kConsumers << " consumers, " << kMessages
            << " messages: " << wall_ms << " ms wall\n";
}

}  // namespace
}  // namespace pgqrs_test
