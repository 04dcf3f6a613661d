// Shared fixture of the pgqrs CLI end-to-end tests (tests/integration/cli_*_test.cc): runs
// the built binary as a child process (explicit environment, own working directory) against
// a SQLite file in a fresh temporary directory; tests check exit status, stdout and stderr.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    ADD_FAILURE() << "pipe failed";
    return {};
  }
  std::vector<std::string> argv_storage{PGQRS_CLI_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = env;
  std::vector<char*> envp;
  envp.reserve(env_storage.size() + 1);
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return {};
  }
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      close(fd);
    }
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Small inputs fit in the pipe buffer, so writing before reading cannot deadlock.
  if (!input.empty() && write(in_pipe[1], input.data(), input.size()) < 0) {
    ADD_FAILURE() << "write to child stdin failed";
  }
  close(in_pipe[1]);

  Result result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, 60'000) <= 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "child produced no output for 60 s";
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else {
    ADD_FAILURE() << "pgqrs died by signal " << WTERMSIG(status) << "\nstderr: " << result.err;
  }
  return result;
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
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pgqrs-cli-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    dsn_ = "sqlite://" + (dir_ / "q.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

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

  fs::path dir_;
  std::string dsn_;
};

// ISO-8601 UTC with milliseconds, e.g. 2026-11-22T10:00:00.123Z.
inline const std::regex& iso_utc() {
  static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  return re;
}

}  // namespace pgqrs::cli_test
