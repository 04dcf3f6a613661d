// The pgqrs CLI on s3:// DSNs: the ordinary commands (durable mode), `pgqrs s3 state |
// snapshot | sync` with --format json, and local mode's snapshot-on-start / sync-after-write.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "integration/s3_test_support.h"

namespace pgqrs_test {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
};

class S3CliTest : public ::testing::Test {
 protected:
  void SetUp() override { PGQRS_SKIP_UNLESS_S3(); }
  void TearDown() override {
    if (std::getenv("PGQRS_TEST_S3_BUCKET") != nullptr) DirectClient().remove(key_);
  }

  // Runs `pgqrs --dsn <the object> --format json ARGS` with `env` ("NAME=value ...") added.
  CliRun Cli(const std::string& args, const std::string& env = "") {
    const std::string cmd = "env PGQRS_S3_CACHE_DIR='" + (dir_.path() / "cache").string() + "' " +
                            env + " '" PGQRS_CLI_PATH "' --dsn 's3://" + S3Bucket() + "/" + key_ +
                            "' --format json " + args + " 2>>'" + (dir_.path() / "err").string() +
                            "'";
    CliRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }
  std::string State(const std::string& env = "") {
    CliRun r = Cli("s3 state", env);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return nlohmann::json::parse(r.out).at("state").get<std::string>();
  }

  std::string key_ = UniqueKey("cli");
  ScratchDir dir_{"pgqrs-s3-cli"};
};

TEST_F(S3CliTest, DurableCommandsPublishEveryWrite) {
  EXPECT_EQ(State(), "RemoteMissingClean");
  ASSERT_EQ(Cli("admin install").exit_code, 0);
  ASSERT_EQ(Cli("queue create jobs").exit_code, 0);
  ASSERT_EQ(Cli("queue enqueue jobs '{\"a\":1}'").exit_code, 0);
  EXPECT_EQ(State(), "InSync");
  EXPECT_EQ(RemoteMessages(key_, "jobs").size(), 1u);
  CliRun list = Cli("queue list");
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("jobs"), std::string::npos) << list.out;
}

TEST_F(S3CliTest, LocalModeSnapshotsOnStartAndSyncsAfterAWrite) {
  const std::string local = "PGQRS_S3_MODE=local";
  ASSERT_EQ(Cli("admin install", local).exit_code, 0);  // creates the object
  ASSERT_EQ(Cli("queue create jobs", local).exit_code, 0);
  EXPECT_EQ(State(local), "InSync");  // the write command synced
  // Another writer moves the object on; the next command starts from a snapshot.
  {
    ScratchDir other("pgqrs-s3-cli-other");
    pgqrs::Store s = pgqrs::connect_with_config(S3Config(key_, other.path()));
    pgqrs::enqueue().message(pgqrs::json{{"from", "other"}}).to("jobs").execute(s);
  }
  EXPECT_EQ(State(local), "RemoteChanges");  // `s3 state` itself does not snapshot
  CliRun messages = Cli("queue messages jobs", local);
  ASSERT_EQ(messages.exit_code, 0);
  EXPECT_NE(messages.out.find("other"), std::string::npos) << messages.out;
  EXPECT_EQ(State(local), "InSync");
}

TEST_F(S3CliTest, ExplicitSnapshotAndSyncReportTheState) {
  const std::string local = "PGQRS_S3_MODE=local";
  ASSERT_EQ(Cli("admin install", local).exit_code, 0);
  CliRun sync = Cli("s3 sync", local);
  ASSERT_EQ(sync.exit_code, 0) << sync.out;
  auto j = nlohmann::json::parse(sync.out);
  EXPECT_EQ(j.at("ok"), true);
  EXPECT_EQ(j.at("state"), "InSync");
  CliRun snap = Cli("s3 snapshot", local);
  ASSERT_EQ(snap.exit_code, 0) << snap.out;
  EXPECT_EQ(nlohmann::json::parse(snap.out).at("state"), "InSync");
}

TEST_F(S3CliTest, S3CommandsOnAnotherBackendAreAConfigError) {
  const std::string cmd = "'" PGQRS_CLI_PATH "' --dsn 'sqlite://" +
                          (dir_.path() / "q.db").string() + "' --format json s3 state 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(nlohmann::json::parse(out).at("error").at("code"), "config") << out;
}

}  // namespace
}  // namespace pgqrs_test
