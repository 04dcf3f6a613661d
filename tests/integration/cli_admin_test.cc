// End-to-end tests of the pgqrs CLI: Admin group (install, verify, uninstall, stats, help).
// Fixture and helpers: tests/common/cli_fixture.h.
#include "common/cli_fixture.h"

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

TEST_F(CliTest, HelpListsGroupsAndExitsZero) {
  Result r = run_cli({"--help"}, base_env(), dir_);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  for (const char* group : {"admin", "queue", "worker", "workflow"}) {
    EXPECT_NE(r.out.find(group), std::string::npos) << group << "\n" << describe(r);
  }
}

TEST_F(CliTest, InstallVerifyAndStats) {
  Result r = cli({"admin", "install"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("version"), std::string::npos) << describe(r);

  r = cli({"admin", "install"});  // idempotent
  EXPECT_EQ(r.exit_code, 0) << describe(r);

  r = cli_json({"admin", "verify"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json v = parse_json(r);
  EXPECT_EQ(v["ok"], true);
  EXPECT_GE(v["version"].get<int>(), 1);
  EXPECT_EQ(v["version"], v["expected_version"]);

  r = cli({"admin", "verify"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("OK"), std::string::npos) << describe(r);

  r = cli_json({"admin", "stats"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json s = parse_json(r);
  EXPECT_EQ(s["queues"], 0);
  EXPECT_EQ(s["backend"], "sqlite");
  EXPECT_EQ(keys_of(s),
            (std::set<std::string>{"queues", "workers", "active_workers", "pending", "delayed",
                                   "leased", "archived", "dead", "schema_version", "backend"}));
}

TEST_F(CliTest, VerifyBeforeInstallFails) {
  Result r = cli({"admin", "verify"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("error: "), std::string::npos) << describe(r);
}

TEST_F(CliTest, UninstallRemovesTheSchema) {
  install_with_queue();
  Result r = cli({"admin", "uninstall"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  r = cli({"admin", "verify"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

}  // namespace
