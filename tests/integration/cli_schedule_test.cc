// End-to-end tests of `pgqrs schedule ...` and `pgqrs admin prune` (SQLite file).
// Fixture and helpers: tests/common/cli_fixture.h.
#include "common/cli_fixture.h"

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

TEST_F(CliTest, ScheduleCreateListShowPauseResumeRemove) {
  install_with_queue();
  Result r = cli_json({"schedule", "create", "nightly", "--cron", "0 3 * * *", "--tz",
                       "Europe/Paris", "--queue", "jobs", "--payload", R"({"kind":"report"})"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json s = parse_json(r);
  EXPECT_EQ(s["name"], "nightly");
  EXPECT_EQ(s["cron"], "0 3 * * *");
  EXPECT_EQ(s["time_zone"], "Europe/Paris");
  EXPECT_EQ(s["target"], "jobs");
  EXPECT_EQ(s["payload"]["kind"], "report");
  EXPECT_EQ(s["catch_up"], "last");
  ASSERT_EQ(s["upcoming"].size(), 5u);
  EXPECT_TRUE(std::regex_match(s["next_fire_at"].get<std::string>(), iso_utc()));

  r = cli({"schedule", "create", "tick", "--every", "30s", "--queue", "jobs", "--catch-up", "all"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Created schedule 'tick'"), std::string::npos) << describe(r);

  r = cli_json({"schedule", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json list = parse_json(r);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["every_seconds"], 30);

  r = cli({"schedule", "list"});
  EXPECT_NE(r.out.find("NEXT_FIRE"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("every 30s"), std::string::npos) << describe(r);

  r = cli({"schedule", "show", "nightly"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("next fires"), std::string::npos) << describe(r);

  r = cli_json({"schedule", "pause", "nightly"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["paused"], true);
  EXPECT_TRUE(parse_json(r)["next_fire_at"].is_null());
  r = cli_json({"schedule", "resume", "nightly"});
  EXPECT_EQ(parse_json(r)["paused"], false);

  r = cli_json({"schedule", "remove", "nightly"});
  EXPECT_EQ(parse_json(r)["removed"], true);
  r = cli({"schedule", "show", "nightly"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << describe(r);
}

TEST_F(CliTest, ScheduleBadInputNamesTheFieldAndStoresNothing) {
  install_with_queue();
  Result r = cli({"schedule", "create", "bad", "--cron", "0 25 * * *", "--queue", "jobs"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("cron: invalid hour field '25'"), std::string::npos) << describe(r);
  r = cli(
      {"schedule", "create", "bad", "--cron", "0 3 * * *", "--tz", "Mars/Base", "--queue", "jobs"});
  EXPECT_NE(r.err.find("time_zone: unknown time zone 'Mars/Base'"), std::string::npos)
      << describe(r);
  r = cli({"schedule", "create", "bad", "--cron", "* * * * *", "--every", "5s", "--queue", "jobs"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);  // a usage error: excluded together
  r = cli_json({"schedule", "list"});
  EXPECT_TRUE(parse_json(r).empty());
}

TEST_F(CliTest, AdminPruneDryRunAndRun) {
  install_with_queue();
  Result r = cli_json({"admin", "prune", "--archived-older-than", "7d", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json j = parse_json(r);
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_EQ(j["archived"], 0);
  EXPECT_NE(r.err.find("prune: jobs archived: 0"), std::string::npos) << describe(r);
  r = cli({"admin", "prune", "--archived-older-than", "7d", "--dead-older-than", "30d"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Deleted 0 archived message(s), 0 dead letter(s)"), std::string::npos)
      << describe(r);
  r = cli({"admin", "prune", "--archived-older-than", "-1d"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  r = cli({"admin", "prune", "--archived-older-than", "7d", "--throttle", "0"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  r = cli({"admin", "prune", "--throttle", "-1"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("--throttle"), std::string::npos) << describe(r);
}

}  // namespace
