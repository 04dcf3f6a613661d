// No secret reaches the CLI's output (issue 18, "files and secrets"): the DSN password and the
// AWS secret key and session token are grepped for in everything the CLI prints, on success
// and failure paths, at every log level, in both output formats.
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/cli_fixture.h"

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

const std::vector<std::string> kLogLevels{"error", "warn", "info", "debug", "trace"};
const std::vector<std::string> kFormats{"table", "json"};

std::string Marker(const std::string& what) {
  std::random_device rd;
  return what + "Secret" + std::to_string(rd()) + "x";
}

class CliSecretsTest : public CliTest {
 protected:
  // Runs every command of `commands` at every log level and format with `global` options and
  // exactly `env`; fails if any of `secrets` shows up in stdout or stderr. Returns how many
  // runs ended in each exit code (so a test can check both paths were taken).
  std::map<int, int> RunAll(const std::vector<std::string>& global,
                            const std::vector<std::vector<std::string>>& commands,
                            const std::vector<std::string>& env,
                            const std::vector<std::string>& secrets) {
    std::map<int, int> exits;
    for (const auto& level : kLogLevels) {
      for (const auto& format : kFormats) {
        for (const auto& command : commands) {
          std::vector<std::string> args = global;
          args.insert(args.end(), {"--log-level", level, "--format", format});
          args.insert(args.end(), command.begin(), command.end());
          Result r = run_cli(args, env, dir_);
          ++exits[r.exit_code];
          for (const auto& secret : secrets) {
            EXPECT_EQ(r.out.find(secret), std::string::npos) << "secret in stdout\n" << describe(r);
            EXPECT_EQ(r.err.find(secret), std::string::npos) << "secret in stderr\n" << describe(r);
          }
        }
      }
    }
    return exits;
  }
};

// Postgres: the test server's real password (success and error paths) and a wrong one (the
// server refuses it), in URIs that also carry it as a query parameter.
TEST_F(CliSecretsTest, PostgresPasswordsNeverAppear) {
  const char* dsn_env = std::getenv("PGQRS_TEST_POSTGRES_DSN");
  if (dsn_env == nullptr) GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN is not set (pg-test-server)";
  const std::string dsn = dsn_env;
  const auto at = dsn.find('@');
  const auto colon = dsn.find(':', dsn.find("//") + 2);
  ASSERT_TRUE(at != std::string::npos && colon < at) << "expected a password in the test DSN";
  const std::string password = dsn.substr(colon + 1, at - colon - 1);
  const std::string wrong = Marker("Pg");
  const std::string wrong_dsn = dsn.substr(0, colon + 1) + wrong + dsn.substr(at);
  const std::vector<std::vector<std::string>> commands{
      {"admin", "verify"},
      {"queue", "list"},
      {"--schema", "no_such_schema_here", "queue", "list"},
      {"queue", "get", "no-such-queue"},
      {"worker", "list"},
  };
  auto exits = RunAll({"--dsn", dsn}, commands, base_env(), {password});
  exits = RunAll({"--dsn", wrong_dsn}, commands, base_env(), {wrong});
  EXPECT_GT(exits[1], 0) << "the wrong password must be refused";
  RunAll({}, {{"queue", "list"}},
         [&] {
           auto env = base_env();
           env.push_back("PGQRS_DSN=" + wrong_dsn);
           return env;
         }(),
         {wrong});
}

// S3: the secret access key and a session token, through commands that succeed (install,
// enqueue, list) and ones that fail (an unknown queue, a bucket that does not exist).
TEST_F(CliSecretsTest, AwsSecretsNeverAppear) {
  if (std::getenv("PGQRS_TEST_S3_BUCKET") == nullptr) {
    GTEST_SKIP() << "PGQRS_TEST_S3_BUCKET is not set (s3-test-server)";
  }
  const std::string secret = Marker("Aws");
  const std::string token = Marker("Token");
  auto env = base_env();
  for (const char* name : {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_REGION"}) {
    if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
  }
  env.push_back("AWS_SECRET_ACCESS_KEY=" + secret);
  env.push_back("AWS_SESSION_TOKEN=" + token);
  env.push_back("PGQRS_S3_CACHE_DIR=" + (dir_ / "cache").string());
  const std::string bucket = std::getenv("PGQRS_TEST_S3_BUCKET");
  const std::string dsn = "s3://" + bucket + "/" + Marker("key") + ".sqlite";
  auto exits = RunAll({"--dsn", dsn},
                      {{"admin", "install"},
                       {"queue", "create", "jobs"},
                       {"queue", "enqueue", "jobs", R"({"n": 1})"},
                       {"queue", "list"},
                       {"queue", "get", "no-such-queue"}},
                      env, {secret, token});
  EXPECT_GT(exits[0], 0) << "no command succeeded: the success paths were not exercised";
  EXPECT_GT(exits[1], 0) << "no command failed: the error paths were not exercised";
  exits = RunAll({"--dsn", "s3://no-such-bucket-" + Marker("b") + "/q.sqlite"}, {{"queue", "list"}},
                 env, {secret, token});
  EXPECT_GT(exits[1], 0) << "a missing bucket must be an error";
}

}  // namespace
