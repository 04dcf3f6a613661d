// Shared fixture of the pgqrs CLI end-to-end tests (tests/integration/cli_*_test.cc): runs
// the built binary as a child process (explicit environment, own working directory) against
// a SQLite file in a fresh temporary directory; tests check exit status, stdout and stderr.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/process.h"
#include "common/scratch_dir.h"
#include "pgqrs/pgqrs.h"

#ifndef PGQRS_CLI_PATH
#error "PGQRS_CLI_PATH must name the pgqrs binary"
#endif

namespace pgqrs::cli_test {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the CLI with exactly `env` as its environment (nothing inherited), in `cwd`, with
// `input` on stdin. Fails the test if the process cannot be started or dies by a signal.
inline Result run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      const fs::path& cwd, const std::string& input = "") {
  std::vector<std::string> argv{PGQRS_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  const pgqrs_test::CapturedRun run = pgqrs_test::RunCaptured(argv, env, cwd, input);
  if (!run.failure.empty()) ADD_FAILURE() << run.failure;
  if (run.term_signal != 0) {
    ADD_FAILURE() << "pgqrs died by signal " << run.term_signal << "\nstderr: " << run.err;
  }
  return Result{run.exit_code, run.out, run.err};
}

inline std::string describe(const Result& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "--- stderr:\n" +
         r.err;
}

inline json parse_json(const Result& r) {
  try {
    return json::parse(r.out);
  } catch (const json::parse_error& e) {
    ADD_FAILURE() << "stdout is not JSON (" << e.what() << ")\n" << describe(r);
    return json();
  }
}

inline std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dsn_ = "sqlite://" + (dir_ / "q.db").string(); }

  std::vector<std::string> base_env() const { return {"HOME=" + dir_.string(), "LC_ALL=C"}; }

  // Runs `pgqrs --dsn <dsn> args...`.
  Result cli(std::vector<std::string> args, const std::string& input = "") const {
    args.insert(args.begin(), {"--dsn", dsn_});
    return run_cli(args, base_env(), dir_, input);
  }
  Result cli_json(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--format", "json"});
    return cli(std::move(args));
  }
  // Runs the CLI with extra environment and no --dsn.
  Result cli_env(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                 const fs::path& cwd = {}) const {
    auto env = base_env();
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    return run_cli(args, env, cwd.empty() ? dir_ : cwd);
  }

  void install_with_queue(const std::string& queue = "jobs") {
    Result r = cli({"admin", "install"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    r = cli({"queue", "create", queue});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
  }

  json metrics(const std::string& queue) const {
    Result r = cli_json({"queue", "metrics", queue});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return parse_json(r);
  }

  pgqrs_test::ScratchDir scratch_{"pgqrs-cli-test"};
  fs::path dir_ = scratch_.path();  // the CLI's working directory and HOME
  std::string dsn_;
};

// ISO-8601 UTC with milliseconds, e.g. 2026-11-22T10:00:00.123Z.
inline const std::regex& iso_utc() {
  static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  return re;
}

}  // namespace pgqrs::cli_test
