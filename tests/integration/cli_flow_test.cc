// End-to-end tests of the pgqrs CLI's flow-control flags (issue 14): queue options on
// `queue create|update`, shown by `queue get` (table and JSON), message fields on
// `queue enqueue`, and bad values as typed errors naming the field.
#include "common/cli_fixture.h"

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

TEST_F(CliTest, QueueCreateWithOptionsAndGetShowsThem) {
  ASSERT_EQ(cli({"admin", "install"}).exit_code, 0);
  Result r = cli({"queue", "create", "limited", "--concurrency", "3", "--worker-concurrency", "2",
                  "--key-concurrency", "1", "--rate-limit", "100/1s", "--retain-archived", "7d",
                  "--retain-dead", "30d"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);

  r = cli_json({"queue", "get", "limited"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json o = parse_json(r)["options"];
  EXPECT_EQ(o["concurrency"], 3) << describe(r);
  EXPECT_EQ(o["worker_concurrency"], 2);
  EXPECT_EQ(o["key_concurrency"], 1);
  EXPECT_EQ(o["rate_limit"], json({{"count", 100}, {"period_seconds", 1.0}}));
  EXPECT_EQ(o["retain_archived_seconds"], 7 * 86400.0);
  EXPECT_EQ(o["retain_dead_seconds"], 30 * 86400.0);

  r = cli({"queue", "get", "limited"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("100/1s"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("7d"), std::string::npos) << describe(r);
}

TEST_F(CliTest, QueueUpdateChangesOnlyTheGivenOptions) {
  install_with_queue();
  ASSERT_EQ(
      cli({"queue", "update", "jobs", "--concurrency", "5", "--rate-limit", "10/2s"}).exit_code, 0);
  Result r = cli_json({"queue", "update", "jobs", "--rate-limit", "none"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json o = parse_json(r)["queue"]["options"];
  EXPECT_EQ(o["concurrency"], 5) << describe(r);
  EXPECT_TRUE(o["rate_limit"].is_null()) << describe(r);
  EXPECT_TRUE(o["retain_dead_seconds"].is_null()) << describe(r);

  r = cli({"queue", "update", "jobs"});
  EXPECT_EQ(r.exit_code, 2) << "nothing to change is a usage error: " << describe(r);
}

TEST_F(CliTest, BadQueueOptionsAreValidationErrorsNamingTheField) {
  install_with_queue();
  Result r = cli_json({"queue", "create", "bad", "--concurrency", "0"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "validation") << describe(r);
  EXPECT_NE((r.out + r.err).find("concurrency"), std::string::npos) << describe(r);
  r = cli_json({"queue", "update", "jobs", "--key-concurrency", "-2"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  r = cli({"queue", "update", "jobs", "--rate-limit", "ten"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  r = cli_json({"queue", "get", "jobs"});
  EXPECT_TRUE(parse_json(r)["options"]["key_concurrency"].is_null()) << describe(r);
  r = cli_json({"queue", "get", "bad"});
  EXPECT_EQ(r.exit_code, 1) << "nothing was created: " << describe(r);
}

TEST_F(CliTest, EnqueueFlowFlags) {
  install_with_queue();
  Result r = cli_json({"queue", "enqueue", "jobs", R"({"n":1})", "--priority", "-3", "--dedup-key",
                       "order-1", "--concurrency-key", "customer-9"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json first = parse_json(r)["ids"][0];
  r = cli_json({"queue", "enqueue", "jobs", R"({"n":2})", "--dedup-key", "order-1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["ids"][0], first) << "deduplicated: " << describe(r);

  r = cli_json({"queue", "messages", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json list = parse_json(r);
  ASSERT_EQ(list.size(), 1u) << describe(r);
  EXPECT_EQ(list[0]["priority"], -3);
  EXPECT_EQ(list[0]["dedup_key"], "order-1");
  EXPECT_EQ(list[0]["concurrency_key"], "customer-9");

  r = cli_json({"queue", "enqueue", "jobs", R"({"n":3})", "--dedup-key", ""});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "validation") << describe(r);
}

}  // namespace
