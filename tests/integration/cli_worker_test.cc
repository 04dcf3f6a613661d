// End-to-end tests of the pgqrs CLI: Worker group (list, stats, purge, reclaim).
// Fixture and helpers: tests/common/cli_fixture.h.
#include "common/cli_fixture.h"

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

TEST_F(CliTest, WorkerCommandsSeeAConsumer) {
  install_with_queue();
  ASSERT_EQ(cli({"queue", "enqueue", "jobs", R"({"n":1})"}).exit_code, 0);

  Result r = cli_json({"worker", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(parse_json(r).is_array());
  const std::size_t workers_before = parse_json(r).size();

  std::int64_t worker_id = 0;
  {
    pgqrs::Store store = pgqrs::connect(dsn_);
    pgqrs::Consumer c = pgqrs::consumer("cli-test-consumer", "jobs").create(store);
    worker_id = c.id();
    ASSERT_EQ(c.dequeue_with_vt(1, std::chrono::seconds(3600)).size(), 1u);
  }
  const std::string id = std::to_string(worker_id);

  r = cli_json({"worker", "list", "--queue", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json workers = parse_json(r);
  ASSERT_EQ(workers.size(), workers_before + 1) << describe(r);
  bool found = false;
  for (const auto& w : workers) {
    if (w["id"] == worker_id) {
      found = true;
      EXPECT_EQ(w["name"], "cli-test-consumer");
      EXPECT_EQ(w["kind"], "consumer");
      EXPECT_EQ(w["status"], "ready");
    }
  }
  EXPECT_TRUE(found) << describe(r);

  r = cli({"worker", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("cli-test-consumer"), std::string::npos) << describe(r);

  r = cli({"worker", "get", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("cli-test-consumer"), std::string::npos) << describe(r);

  r = cli_json({"worker", "messages", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_EQ(parse_json(r).size(), 1u) << describe(r);
  EXPECT_EQ(metrics("jobs")["leased"], 1);

  r = cli_json({"worker", "stats", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["leased_messages"], 1) << describe(r);

  r = cli_json({"worker", "health", "--timeout", "1h"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json health = parse_json(r);
  ASSERT_FALSE(health.empty()) << describe(r);
  EXPECT_EQ(health[0]["healthy"], true) << describe(r);

  r = cli_json({"worker", "release-messages", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["released"], 1);
  EXPECT_EQ(metrics("jobs")["pending"], 1);

  r = cli_json({"worker", "heartbeat", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = cli_json({"worker", "suspend", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["worker"]["status"], "suspended");
  r = cli_json({"worker", "resume", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["worker"]["status"], "ready");

  // ready -> stopped is illegal: a StateTransitionError naming both states.
  r = cli_json({"worker", "shutdown", id});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "state_transition") << describe(r);

  ASSERT_EQ(cli({"worker", "suspend", id}).exit_code, 0);
  r = cli_json({"worker", "shutdown", id});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["worker"]["status"], "stopped");

  r = cli({"worker", "get", "987654"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

TEST_F(CliTest, WorkerPurgeAndReclaimAcceptDurations) {
  install_with_queue();
  Result r = cli_json({"worker", "purge", "--older-than", "1h30m"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["purged"], 0);
  r = cli_json({"admin", "reclaim", "--queue", "jobs", "--older-than", "90"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["released"], 0);

  for (const char* bad : {"5x", "-5s", "1.5h", "", "s", "10 s"}) {
    r = cli({"worker", "purge", "--older-than", bad});
    EXPECT_EQ(r.exit_code, 2) << "'" << bad << "'\n" << describe(r);
    EXPECT_NE(r.err.find("invalid duration"), std::string::npos) << describe(r);
  }
  r = cli({"admin", "reclaim"});  // --queue is required
  EXPECT_EQ(r.exit_code, 2) << describe(r);
}

}  // namespace
