// Three OS processes on one SQLite or Turso file: one producer and two consumers started together
// (pgqrs_queue_worker). Every message must be archived exactly once, none lost, and every
// process must exit 0.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"

namespace {

namespace fs = std::filesystem;
using pgqrs_test::DeliveryTally;
using pgqrs_test::DescribeNumbers;
using pgqrs_test::ReadNumbers;
using pgqrs_test::ScratchDir;
using pgqrs_test::Spawn;
using pgqrs_test::TallyDeliveries;
using pgqrs_test::WaitAll;
using namespace std::chrono_literals;

constexpr int kMessages = 5000;
constexpr auto kTimeout = std::chrono::minutes(5);

class MultiprocessTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MultiprocessTest, OneProducerTwoConsumersArchiveEveryMessageExactlyOnce) {
#if !PGQRS_TEST_WITH_TURSO
  if (GetParam() == "turso") GTEST_SKIP() << "this build has PGQRS_WITH_TURSO=OFF";
#endif
  if (GetParam() == "turso")
    GTEST_SKIP() << "Turso allows one process per file (decision H24, docs/turso.md): several "
                    "processes on one Turso file are refused, as TursoProcesses.* tests; worker "
                    "takeover under SIGKILL is make torture";
  ScratchDir dir("pgqrs-mp");
  const std::string dsn = GetParam() + "://" + (dir.path() / "mp.db").string();
  const std::string queue = "mp_jobs";
  {
    pgqrs::Store store = pgqrs::connect(dsn);
    pgqrs::admin(store).install();
    store.queue(queue);
  }
  const std::string worker = PGQRS_QUEUE_WORKER_PATH;
  const fs::path out_a = dir.path() / "consumer-a.log";
  const fs::path out_b = dir.path() / "consumer-b.log";
  const std::string expected = std::to_string(kMessages);

  pid_t a = Spawn({worker, "consume", dsn, queue, out_a.string(), expected});
  pid_t b = Spawn({worker, "consume", dsn, queue, out_b.string(), expected});
  // The producer trickles (a short pause after each batch of 100) so that the two consumers
  // compete for a queue that keeps refilling: on a fast engine one consumer could otherwise
  // drain a prefilled queue alone before the other one's first lease.
  pid_t p = Spawn({worker, "produce", dsn, queue, expected, "--pause-ms", "3"});
  ASSERT_GT(a, 0) << "could not spawn " << worker;
  ASSERT_GT(b, 0);
  ASSERT_GT(p, 0);

  auto status = WaitAll({a, b, p}, std::chrono::steady_clock::now() + kTimeout);
  EXPECT_EQ(status[p], 0) << "producer exit status";
  EXPECT_EQ(status[a], 0) << "consumer A exit status";
  EXPECT_EQ(status[b], 0) << "consumer B exit status";

  std::vector<long> got_a = ReadNumbers(out_a);
  std::vector<long> got_b = ReadNumbers(out_b);
  RecordProperty("consumer_a_processed", static_cast<int>(got_a.size()));
  RecordProperty("consumer_b_processed", static_cast<int>(got_b.size()));
  std::map<long, int> seen;
  for (long n : got_a) ++seen[n];
  for (long n : got_b) ++seen[n];
  const DeliveryTally tally = TallyDeliveries(seen, kMessages);
  EXPECT_TRUE(tally.duplicates.empty())
      << DescribeNumbers(tally.duplicates, "messages processed more than once");
  EXPECT_TRUE(tally.missing.empty()) << DescribeNumbers(tally.missing, "messages never processed");
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(got_a.size() + got_b.size(), static_cast<std::size_t>(kMessages));
  EXPECT_FALSE(got_a.empty()) << "consumer A processed nothing (not a failure of correctness, "
                                 "but the test is meant to exercise two concurrent consumers)";
  EXPECT_FALSE(got_b.empty()) << "consumer B processed nothing";

  pgqrs::Store store = pgqrs::connect(dsn);
  pgqrs::QueueMetrics m = pgqrs::admin(store).queue_metrics(queue);
  EXPECT_EQ(m.archived, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(m.pending, 0u);
  EXPECT_EQ(m.leased, 0u);
  EXPECT_EQ(m.delayed, 0u);
  EXPECT_EQ(m.dead, 0u);
  for (const auto& msg : pgqrs::admin(store).list_messages(queue, kMessages + 10, true)) {
    if (msg.read_ct != 1) {
      ADD_FAILURE() << "message " << msg.id << " (n=" << msg.payload.value("n", -1L)
                    << ") was delivered " << msg.read_ct << " times";
      break;
    }
  }
}

// SQLite and Turso (in its multiprocess WAL mode, docs/turso.md), each on a file.
INSTANTIATE_TEST_SUITE_P(Backends, MultiprocessTest, ::testing::Values("sqlite", "turso"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
