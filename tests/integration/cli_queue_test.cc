// End-to-end tests of the pgqrs CLI: Queue and message groups (create, list, enqueue, messages,
// dlq, purge, delete). Fixture and helpers: tests/common/cli_fixture.h.
#include "common/cli_fixture.h"

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

TEST_F(CliTest, CreateListAndGetQueue) {
  install_with_queue();
  Result r = cli({"queue", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("jobs"), std::string::npos) << describe(r);

  r = cli_json({"queue", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json list = parse_json(r);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["queue_name"], "jobs");
  EXPECT_EQ(keys_of(list[0]), (std::set<std::string>{"id", "queue_name", "created_at", "options"}));
  EXPECT_TRUE(std::regex_match(list[0]["created_at"].get<std::string>(), iso_utc()))
      << list[0]["created_at"];

  r = cli({"queue", "get", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("jobs"), std::string::npos) << describe(r);
  EXPECT_TRUE(std::regex_search(r.out, iso_utc())) << describe(r);

  r = cli({"queue", "create", "jobs"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  r = cli_json({"queue", "create", "jobs"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "queue_already_exists") << describe(r);
}

TEST_F(CliTest, EnqueuePrintsIdsAndMetricsCountIt) {
  install_with_queue();
  Result r = cli({"queue", "enqueue", "jobs", R"({"n":1})"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\b\d+\b)"))) << describe(r);

  r = cli_json({"queue", "enqueue", "jobs", R"({"n":2})"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json e = parse_json(r);
  ASSERT_TRUE(e["ids"].is_array()) << describe(r);
  ASSERT_EQ(e["ids"].size(), 1u);
  EXPECT_TRUE(e["ids"][0].is_number_integer());

  json m = metrics("jobs");
  EXPECT_EQ(m["pending"], 2);
  EXPECT_EQ(m["queue_name"], "jobs");
  EXPECT_EQ(keys_of(m),
            (std::set<std::string>{"queue_id", "queue_name", "pending", "delayed", "leased",
                                   "archived", "dead", "oldest_pending_age_ms"}));

  r = cli_json({"queue", "metrics"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json all = parse_json(r);
  ASSERT_TRUE(all.is_array());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["pending"], 2);

  r = cli({"queue", "metrics"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("PENDING"), std::string::npos) << describe(r);

  r = cli_json({"admin", "stats"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json s = parse_json(r);
  EXPECT_EQ(s["queues"], 1);
  EXPECT_EQ(s["pending"], 2);
}

TEST_F(CliTest, MessagesShowPayloadAsJson) {
  install_with_queue();
  ASSERT_EQ(cli({"queue", "enqueue", "jobs", R"({"n":1})"}).exit_code, 0);

  Result r = cli_json({"queue", "messages", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json list = parse_json(r);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u) << describe(r);
  const json& msg = list[0];
  EXPECT_EQ(msg["payload"], json({{"n", 1}})) << "payload must be JSON, not a string";
  EXPECT_EQ(msg["read_ct"], 0);
  EXPECT_TRUE(msg["archived_at"].is_null());
  EXPECT_TRUE(msg["dead_at"].is_null());
  EXPECT_TRUE(std::regex_match(msg["enqueued_at"].get<std::string>(), iso_utc()));
  EXPECT_EQ(keys_of(msg), (std::set<std::string>{"id", "queue_id", "payload", "vt", "enqueued_at",
                                                 "read_ct", "dequeued_at", "producer_worker_id",
                                                 "consumer_worker_id", "archived_at", "dead_at",
                                                 "priority", "dedup_key", "concurrency_key"}));

  r = cli({"queue", "messages", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find(R"({"n":1})"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("pending"), std::string::npos) << describe(r);

  // --limit bounds the list.
  ASSERT_EQ(cli({"queue", "enqueue", "jobs", R"({"n":2})"}).exit_code, 0);
  r = cli_json({"queue", "messages", "jobs", "--limit", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r).size(), 1u);
}

TEST_F(CliTest, EnqueueFromStdinAndWithDelay) {
  install_with_queue();
  Result r = cli({"--format", "json", "queue", "enqueue", "jobs", "-"}, R"({"from":"stdin"})");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = cli({"queue", "enqueue", "jobs", R"({"later":true})", "--delay", "1h"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json m = metrics("jobs");
  EXPECT_EQ(m["pending"], 1);
  EXPECT_EQ(m["delayed"], 1);
}

TEST_F(CliTest, DlqEmptyAndReplayOfLiveMessageFails) {
  install_with_queue();
  Result r = cli_json({"queue", "dlq", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json::array());
  r = cli_json({"queue", "dlq"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json::array());

  r = cli_json({"queue", "enqueue", "jobs", "{}"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::string id = std::to_string(parse_json(r)["ids"][0].get<std::int64_t>());
  r = cli({"queue", "replay-dlq", id});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("not a dead letter"), std::string::npos) << describe(r);
  r = cli({"queue", "replay-dlq", "999999"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

TEST_F(CliTest, DeadLetterIsListedAndReplayed) {
  install_with_queue();
  ASSERT_EQ(cli({"queue", "enqueue", "jobs", R"({"poison":true})"}).exit_code, 0);
  {
    pgqrs::Config config = pgqrs::Config::from_dsn(dsn_);
    config.max_read_ct = 1;
    pgqrs::Store store = pgqrs::connect_with_config(config);
    pgqrs::Consumer c = pgqrs::consumer("dlq-maker", "jobs").create(store);
    auto got = c.dequeue(1);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(c.release_messages({got[0].id}), 1u);  // came back after max_read_ct deliveries
  }
  Result r = cli_json({"queue", "dlq", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json dead = parse_json(r);
  ASSERT_EQ(dead.size(), 1u) << describe(r);
  EXPECT_FALSE(dead[0]["dead_at"].is_null());
  EXPECT_EQ(metrics("jobs")["dead"], 1);

  r = cli_json({"queue", "replay-dlq", std::to_string(dead[0]["id"].get<std::int64_t>())});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["ok"], true);
  EXPECT_EQ(metrics("jobs")["dead"], 0);
  EXPECT_EQ(metrics("jobs")["pending"], 1);
}

TEST_F(CliTest, MessagesAndDlqPageWithBeforeId) {
  install_with_queue();
  std::vector<std::int64_t> ids;
  {
    pgqrs::Config config = pgqrs::Config::from_dsn(dsn_);
    config.max_read_ct = 1;
    pgqrs::Store store = pgqrs::connect_with_config(config);
    for (int i = 0; i < 4; ++i) {
      ids.push_back(pgqrs::enqueue().message({{"n", i}}).to("jobs").execute(store)[0]);
    }
    // The first three come back after max_read_ct deliveries: dead letters.
    pgqrs::Consumer c = pgqrs::consumer("dlq-maker", "jobs").create(store);
    ASSERT_EQ(c.dequeue(3).size(), 3u);
    ASSERT_EQ(c.release_messages({ids[0], ids[1], ids[2]}), 3u);
  }
  auto listed = [&](std::vector<std::string> args) {
    Result r = cli_json(args);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    std::vector<std::int64_t> out;
    for (const auto& m : parse_json(r)) out.push_back(m["id"].get<std::int64_t>());
    return out;
  };
  EXPECT_EQ(listed({"queue", "messages", "jobs", "--limit", "2"}),
            (std::vector<std::int64_t>{ids[3], ids[2]}));
  EXPECT_EQ(
      listed({"queue", "messages", "jobs", "--limit", "2", "--before-id", std::to_string(ids[2])}),
      (std::vector<std::int64_t>{ids[1], ids[0]}));
  EXPECT_EQ(listed({"queue", "dlq", "jobs"}), (std::vector<std::int64_t>{ids[2], ids[1], ids[0]}));
  EXPECT_EQ(listed({"queue", "dlq", "--limit", "1", "--before-id", std::to_string(ids[2])}),
            (std::vector<std::int64_t>{ids[1]}));
  for (const char* bad : {"0", "-4", "abc"}) {
    EXPECT_EQ(cli({"queue", "messages", "jobs", "--before-id", bad}).exit_code, 2) << bad;
    EXPECT_EQ(cli({"queue", "dlq", "--before-id", bad}).exit_code, 2) << bad;
  }
  EXPECT_EQ(cli({"queue", "dlq", "--limit", "0"}).exit_code, 2);
}

TEST_F(CliTest, PurgeAndDeleteQueue) {
  install_with_queue();
  ASSERT_EQ(cli({"queue", "enqueue", "jobs", "{}"}).exit_code, 0);
  Result r = cli_json({"queue", "purge", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["purged"], 1);
  r = cli({"queue", "delete", "jobs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = cli({"queue", "get", "jobs"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

}  // namespace
