// End-to-end tests of the pgqrs CLI: Error reporting and global options (exit codes, usage errors,
// DSN sources, secrets). Fixture and helpers: tests/common/cli_fixture.h.
#include "common/cli_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

TEST_F(CliTest, BadDsnIsAPgqrsError) {
  Result r = run_cli({"--dsn", "nosuch://x", "admin", "verify"}, base_env(), dir_);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << describe(r);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << "message should name the DSN\n"
                                                     << describe(r);
  EXPECT_TRUE(r.out.empty()) << describe(r);

  r = run_cli({"--dsn", "nosuch://x", "--format", "json", "admin", "verify"}, base_env(), dir_);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  json e = parse_json(r);
  EXPECT_EQ(e["error"]["code"], "config") << describe(r);
  EXPECT_FALSE(e["error"]["message"].get<std::string>().empty());
}

TEST_F(CliTest, UnknownQueueIsAPgqrsError) {
  install_with_queue();
  Result r = cli({"queue", "get", "nope"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << describe(r);

  r = cli_json({"queue", "get", "nope"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "queue_not_found") << describe(r);

  r = cli({"queue", "enqueue", "nope", "{}"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

TEST_F(CliTest, InvalidQueueNameIsAValidationError) {
  install_with_queue();
  Result r = cli_json({"queue", "create", "bad name!"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "validation") << describe(r);
}

// Found by fuzz/cli_args_fuzz: a number too large for a double made nlohmann::json throw
// out_of_range, which escaped as an "internal" error (exit 1) instead of a usage error.
TEST_F(CliTest, JsonNumberOverflowIsAUsageError) {
  install_with_queue();
  Result r = cli({"queue", "enqueue", "jobs", R"({"n": 7e999})"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("invalid JSON payload"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("overflow"), std::string::npos) << describe(r);
}

TEST_F(CliTest, MalformedJsonIsAUsageErrorAndEnqueuesNothing) {
  install_with_queue();
  Result r = cli({"queue", "enqueue", "jobs", R"({"n":)"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("JSON"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("invalid JSON payload"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("column"), std::string::npos) << "should say where\n" << describe(r);

  r = cli({"queue", "enqueue", "jobs", "-"}, "{oops");  // from stdin
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("stdin"), std::string::npos) << describe(r);

  EXPECT_EQ(metrics("jobs")["pending"], 0);
}

TEST_F(CliTest, MissingDsnIsAUsageErrorNamingTheThreeWays) {
  Result r = cli_env({"queue", "list"}, {});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("--dsn"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("PGQRS_DSN"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("--config"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("pgqrs.yaml"), std::string::npos) << describe(r);

  r = cli_env({"--format", "json", "queue", "list"}, {});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "usage") << describe(r);
}

TEST_F(CliTest, UnknownCommandsAndBadOptionsAreUsageErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {"queue", "frobnicate"},
      {"nosuchgroup"},
      {},
      {"queue"},
      {"--format", "xml", "queue", "list"},
      {"--log-level", "loud", "queue", "list"},
      {"worker", "get", "not-a-number"},
      {"queue", "messages", "jobs", "--limit", "0"},
      {"workflow", "frobnicate"},
      {"workflow", "run", "not-a-number"},
      {"workflow", "runs", "--limit", "0"},
      {"workflow", "trigger", "wf"},
  };
  for (const auto& args : bad) {
    Result r = cli(args);
    EXPECT_EQ(r.exit_code, 2) << testing::PrintToString(args) << "\n" << describe(r);
    EXPECT_FALSE(r.err.empty()) << describe(r);
  }
}

TEST_F(CliTest, UnknownCommandMessageNamesItAndTheChoices) {
  Result r = cli({"queue", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("enqueue"), std::string::npos) << "lists the commands\n" << describe(r);

  r = cli({"workflow", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("unknown command 'frobnicate' for 'pgqrs workflow'"), std::string::npos)
      << describe(r);
  EXPECT_NE(r.err.find("trigger"), std::string::npos) << "lists the commands\n" << describe(r);

  r = cli({"nosuchgroup", "list"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("unknown group 'nosuchgroup'"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("workflow"), std::string::npos) << "lists the groups\n" << describe(r);

  r = cli({"worker"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("missing command"), std::string::npos) << describe(r);
}

TEST_F(CliTest, GlobalOptionsAfterTheCommandAndLogLevels) {
  install_with_queue();
  Result r = cli({"queue", "list", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(parse_json(r).is_array());
  for (const char* level : {"error", "warn", "info", "debug", "trace"}) {
    r = cli({"--log-level", level, "queue", "list"});
    EXPECT_EQ(r.exit_code, 0) << level << "\n" << describe(r);
  }
}

TEST_F(CliTest, DsnFromEnvironment) {
  install_with_queue();
  Result r = cli_env({"--format", "json", "queue", "list"}, {"PGQRS_DSN=" + dsn_});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json list = parse_json(r);
  ASSERT_EQ(list.size(), 1u) << describe(r);
  EXPECT_EQ(list[0]["queue_name"], "jobs");
}

TEST_F(CliTest, DsnFlagBeatsEnvironment) {
  install_with_queue();
  Result r = cli_env({"--dsn", dsn_, "queue", "get", "jobs"}, {"PGQRS_DSN=nosuch://x"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

// The flag takes the place of the variable before the config is validated (no unsetenv).
TEST_F(CliTest, SchemaFlagBeatsAnInvalidSchemaInTheEnvironment) {
  install_with_queue();
  Result r = cli_env({"--dsn", dsn_, "--schema", "public", "queue", "get", "jobs"},
                     {"PGQRS_SCHEMA=not a schema"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  Result bad = cli_env({"--dsn", dsn_, "queue", "get", "jobs"}, {"PGQRS_SCHEMA=not a schema"});
  EXPECT_NE(bad.exit_code, 0) << describe(bad);
  EXPECT_NE(bad.err.find("schema"), std::string::npos) << describe(bad);
}

TEST_F(CliTest, DsnFromConfigFile) {
  install_with_queue();
  fs::path other = dir_ / "elsewhere";
  fs::create_directories(other);
  fs::path file = other / "my-pgqrs.yaml";
  std::ofstream(file) << "dsn: " << dsn_ << "\n";

  Result r = cli_env({"--config", file.string(), "queue", "get", "jobs"}, {}, other);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("jobs"), std::string::npos) << describe(r);

  r = cli_env({"queue", "get", "jobs"}, {"PGQRS_CONFIG_FILE=" + file.string()}, other);
  EXPECT_EQ(r.exit_code, 0) << describe(r);

  // ./pgqrs.yaml in the working directory.
  std::ofstream(other / "pgqrs.yaml") << "dsn: " << dsn_ << "\n";
  r = cli_env({"queue", "get", "jobs"}, {}, other);
  EXPECT_EQ(r.exit_code, 0) << describe(r);

  // A --config file that does not exist is a pgqrs ConfigError.
  r = cli_env({"--config", (other / "missing.yaml").string(), "queue", "list"}, {}, other);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

TEST_F(CliTest, PasswordNeverPrinted) {
  const std::string secret = "Sup3rS3cretPw";
  const std::string pg = "postgresql://alice:" + secret + "@127.0.0.1:1/db?connect_timeout=2";
  const std::vector<std::string> env = {"PGQRS_CONNECTION_TIMEOUT=2"};
  const std::vector<std::vector<std::string>> runs = {
      {"--dsn", pg, "admin", "verify"},
      {"--dsn", pg, "--format", "json", "queue", "list"},
      {"--dsn", "postgresql://alice:" + secret + "@host:notaport/db", "admin", "verify"},
  };
  for (const auto& args : runs) {
    Result r = cli_env(args, env);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out.find(secret), std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find(secret), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("error: "), std::string::npos) << describe(r);
  }
  Result r = cli_env({"admin", "verify"}, {"PGQRS_DSN=" + pg, "PGQRS_CONNECTION_TIMEOUT=2"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_EQ(r.err.find(secret), std::string::npos) << describe(r);
}

// A loopback port nothing listens on: bound, read, closed.
int UnusedLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A server that is down is reported promptly (--connect-timeout, default 2 s) instead of
// after the library's 30 s of retries, as a connection error without the password.
TEST_F(CliTest, RefusedConnectionFailsFastWithAConnectionError) {
  const auto backends = pgqrs::build_info().backends;
  if (std::find(backends.begin(), backends.end(), "postgres") == backends.end()) {
    GTEST_SKIP() << "this build has no postgres backend";
  }
  const std::string secret = "refusedsecret";
  const std::string dsn =
      "postgresql://u:" + secret + "@127.0.0.1:" + std::to_string(UnusedLoopbackPort()) + "/db";
  const auto start = std::chrono::steady_clock::now();
  Result r = run_cli({"--dsn", dsn, "--format", "json", "queue", "list"}, base_env(), dir_);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  json e = parse_json(r);
  EXPECT_EQ(e["error"]["code"], "connection") << describe(r);
  EXPECT_NE(e["error"]["message"].get<std::string>().find("cannot connect"), std::string::npos)
      << describe(r);
  EXPECT_EQ(r.out.find(secret), std::string::npos) << describe(r);
  EXPECT_EQ(r.err.find(secret), std::string::npos) << describe(r);
  // Default 2 s of retries; generous headroom for a loaded machine, far below the 30 s of
  // the library default this replaces.
  EXPECT_LT(took, std::chrono::seconds(15)) << describe(r);

  r = run_cli({"--dsn", dsn, "--connect-timeout", "0", "queue", "list"}, base_env(), dir_);
  EXPECT_EQ(r.exit_code, 2) << "--connect-timeout must be 1..3600\n" << describe(r);
}

}  // namespace
