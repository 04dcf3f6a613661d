// End-to-end tests of the pgqrs command-line tool: each test runs the built binary as a
// child process (explicit environment, own working directory) against a SQLite file in a
// fresh temporary directory and checks exit status, stdout and stderr.
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

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the CLI with exactly `env` as its environment (nothing inherited), in `cwd`, with
// `input` on stdin. Fails the test if the process cannot be started or dies by a signal.
Result run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env,
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

std::string describe(const Result& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "--- stderr:\n" +
         r.err;
}

json parse_json(const Result& r) {
  try {
    return json::parse(r.out);
  } catch (const json::parse_error& e) {
    ADD_FAILURE() << "stdout is not JSON (" << e.what() << ")\n" << describe(r);
    return json();
  }
}

std::set<std::string> keys_of(const json& object) {
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
const std::regex& iso_utc() {
  static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  return re;
}

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
  EXPECT_EQ(keys_of(list[0]), (std::set<std::string>{"id", "queue_name", "created_at"}));
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
                                                 "consumer_worker_id", "archived_at", "dead_at"}));

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

// ---- workflow group ---------------------------------------------------------------------

// Workflow tests register definitions and run workers through the C++ API (the CLI has no
// create command and serves no runs), and look at the records through the CLI.
class CliWorkflowTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    Result r = cli({"admin", "install"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    pgqrs::Store store = pgqrs::connect(dsn_);
    pgqrs::workflow().name("wf").create(store);
  }

  // Triggers a run of `workflow` with `input` through the CLI; returns the run id.
  std::int64_t trigger(const std::string& input, const std::string& workflow = "wf") {
    Result r = cli_json({"workflow", "trigger", workflow, input});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    json j = parse_json(r);
    EXPECT_EQ(keys_of(j), (std::set<std::string>{"run_id", "message_id"})) << describe(r);
    EXPECT_TRUE(j["run_id"].is_number_integer()) << describe(r);
    EXPECT_TRUE(j["message_id"].is_number_integer()) << describe(r);
    return j.value("run_id", std::int64_t{0});
  }

  // Serves every queued run of "wf" with a two-step handler, then returns.
  void run_worker() {
    pgqrs::WorkflowDef def("wf", [](pgqrs::Run& run, const json& in) {
      int doubled = pgqrs::workflow_step(run, "double", [&] { return in.at("x").get<int>() * 2; });
      std::string text =
          pgqrs::workflow_step(run, "describe", [&] { return "x2=" + std::to_string(doubled); });
      return json{{"doubled", doubled}, {"text", text}};
    });
    pgqrs::Store store = pgqrs::connect(dsn_);
    pgqrs::workflow().name(def).until_empty().poll(store);
  }

  json runs(std::vector<std::string> filters = {}) {
    filters.insert(filters.begin(), {"workflow", "runs"});
    Result r = cli_json(filters);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    json j = parse_json(r);
    EXPECT_TRUE(j.is_array()) << describe(r);
    return j;
  }

  json run_record(std::int64_t id) {
    Result r = cli_json({"workflow", "run", std::to_string(id)});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return parse_json(r);
  }
};

const std::set<std::string> kRunKeys = {"id",         "workflow_id", "workflow_name", "message_id",
                                        "status",     "input",       "output",        "error",
                                        "created_at", "updated_at"};
const std::set<std::string> kStepKeys = {"id",          "run_id",     "step_name", "status",
                                         "input",       "output",     "error",     "retry_at",
                                         "retry_count", "created_at", "updated_at"};

TEST_F(CliWorkflowTest, ListShowsRegisteredWorkflows) {
  Result r = cli_json({"workflow", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json list = parse_json(r);
  ASSERT_TRUE(list.is_array()) << describe(r);
  ASSERT_EQ(list.size(), 1u) << describe(r);
  EXPECT_EQ(list[0]["name"], "wf");
  EXPECT_EQ(keys_of(list[0]), (std::set<std::string>{"id", "name", "queue_id", "created_at"}));
  EXPECT_TRUE(std::regex_match(list[0]["created_at"].get<std::string>(), iso_utc()));

  // The workflow's queue carries the same name.
  r = cli_json({"queue", "get", "wf"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["id"], list[0]["queue_id"]);

  r = cli({"workflow", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("wf"), std::string::npos) << describe(r);
}

TEST_F(CliWorkflowTest, TriggerRunsStepsAndCancelOfAFinishedRun) {
  const std::int64_t id = trigger(R"({"x":1})");
  ASSERT_GT(id, 0);
  const std::string sid = std::to_string(id);

  json list = runs();
  ASSERT_EQ(list.size(), 1u);
  const json& run = list[0];
  EXPECT_EQ(keys_of(run), kRunKeys);
  EXPECT_EQ(run["id"], id);
  EXPECT_EQ(run["workflow_name"], "wf");
  EXPECT_EQ(run["status"], "QUEUED");
  EXPECT_EQ(run["input"], json({{"x", 1}})) << "input must be JSON, not a string";
  EXPECT_TRUE(run["output"].is_null());
  EXPECT_TRUE(run["error"].is_null());
  EXPECT_TRUE(run["message_id"].is_number_integer());
  EXPECT_TRUE(std::regex_match(run["created_at"].get<std::string>(), iso_utc()));
  EXPECT_TRUE(std::regex_match(run["updated_at"].get<std::string>(), iso_utc()));

  // Filters.
  EXPECT_EQ(runs({"--status", "queued"}).size(), 1u);
  EXPECT_EQ(runs({"--status", "QUEUED"}).size(), 1u);
  EXPECT_EQ(runs({"--status", "success"}).size(), 0u);
  EXPECT_EQ(runs({"--workflow", "wf"}).size(), 1u);
  EXPECT_EQ(runs({"--workflow", "other"}).size(), 0u);
  EXPECT_EQ(runs({"--since", "1h"}).size(), 1u);
  EXPECT_EQ(runs({"--since", "2000-01-01"}).size(), 1u);
  EXPECT_EQ(runs({"--since", "2199-01-01T00:00:00Z"}).size(), 0u);
  ASSERT_GT(trigger(R"({"x":2})"), id);
  EXPECT_EQ(runs().size(), 2u);
  json limited = runs({"--limit", "1"});
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_GT(limited[0]["id"].get<std::int64_t>(), id) << "newest first";

  json one = run_record(id);
  EXPECT_EQ(keys_of(one), kRunKeys);
  EXPECT_EQ(one, run);

  Result r = cli_json({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json::array()) << "no step runs before a worker does";
  r = cli({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("(none)"), std::string::npos) << describe(r);

  run_worker();

  r = cli_json({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json steps = parse_json(r);
  ASSERT_EQ(steps.size(), 2u) << describe(r);
  std::map<std::string, json> by_name;
  for (const auto& step : steps) {
    EXPECT_EQ(keys_of(step), kStepKeys);
    EXPECT_EQ(step["run_id"], id);
    EXPECT_EQ(step["status"], "SUCCESS");
    EXPECT_EQ(step["retry_count"], 0);
    EXPECT_TRUE(step["retry_at"].is_null());
    EXPECT_TRUE(step["error"].is_null());
    by_name[step["step_name"].get<std::string>()] = step;
  }
  EXPECT_EQ(by_name["double"]["output"], 2) << describe(r);
  EXPECT_EQ(by_name["describe"]["output"], "x2=2") << describe(r);

  r = cli({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("describe"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << describe(r);

  one = run_record(id);
  EXPECT_EQ(one["status"], "SUCCESS");
  EXPECT_EQ(one["output"], json({{"doubled", 2}, {"text", "x2=2"}}));
  EXPECT_TRUE(one["error"].is_null());
  EXPECT_EQ(runs({"--status", "success"}).size(), 2u);

  r = cli({"workflow", "run", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find(R"({"doubled":2,"text":"x2=2"})"), std::string::npos) << describe(r);

  r = cli({"workflow", "runs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("STATUS"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find(R"({"x":1})"), std::string::npos) << describe(r);

  // Cancelling a finished run changes nothing and is not an error.
  r = cli_json({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json({{"ok", true}, {"cancelled", false}})) << describe(r);
  EXPECT_EQ(run_record(id)["status"], "SUCCESS");
  r = cli({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("not cancelled"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << describe(r);
}

TEST_F(CliWorkflowTest, CancelOfAQueuedRun) {
  const std::string sid = std::to_string(trigger(R"({"x":3})"));
  Result r = cli_json({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json({{"ok", true}, {"cancelled", true}})) << describe(r);
  EXPECT_EQ(run_record(std::stoll(sid))["status"], "CANCELLING");
  EXPECT_EQ(runs({"--status", "cancelling"}).size(), 1u);

  // Already cancelling: nothing more to do.
  r = cli_json({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["cancelled"], false) << describe(r);

  const std::string other = std::to_string(trigger("{}"));
  r = cli({"workflow", "cancel", other});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Cancelling run " + other), std::string::npos) << describe(r);
}

TEST_F(CliWorkflowTest, TriggerInputFromStdinAndTableOutput) {
  Result r = cli({"workflow", "trigger", "wf", "-"}, R"({"from":"stdin"})");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Triggered run "), std::string::npos) << describe(r);
  json list = runs();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["input"], json({{"from", "stdin"}}));
}

TEST_F(CliWorkflowTest, BadStatusOrSinceIsAUsageError) {
  Result r = cli({"workflow", "runs", "--status", "done"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  for (const char* status :
       {"QUEUED", "RUNNING", "PAUSED", "CANCELLING", "CANCELLED", "SUCCESS", "ERROR"}) {
    EXPECT_NE(r.err.find(status), std::string::npos) << status << "\n" << describe(r);
  }
  r = cli_json({"workflow", "runs", "--status", "done"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "usage") << describe(r);

  for (const char* bad : {"1.5h", "yesterday", "2026-13-01", "2026-02-30", "2026-11-22T25:00Z",
                          "2026-11-22T10:00:00+2", ""}) {
    r = cli({"workflow", "runs", "--since", bad});
    EXPECT_EQ(r.exit_code, 2) << "'" << bad << "'\n" << describe(r);
    EXPECT_NE(r.err.find("invalid time"), std::string::npos) << describe(r);
  }
  for (const char* good :
       {"90", "1h30m", "2026-11-22", "2026-11-22T10:00", "2026-11-22 10:00:00",
        "2026-11-22T10:00:00.5Z", "2026-11-22T12:00:00+02:00", "2026-11-22T05:00:00-0500"}) {
    r = cli({"workflow", "runs", "--since", good});
    EXPECT_EQ(r.exit_code, 0) << "'" << good << "'\n" << describe(r);
  }
}

// `t` (whole seconds since the epoch, UTC) + `millis` as "YYYY-MM-DDTHH:MM:SS.mmm" followed
// by `offset` ("Z", "+02:00", ...), the wall clock shifted by `shift_seconds`.
std::string FormatInstant(std::time_t t, int millis, long shift_seconds, const char* offset) {
  const std::time_t wall = t + shift_seconds;
  std::tm tm{};
  gmtime_r(&wall, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis, offset);
  return out;
}

TEST_F(CliWorkflowTest, SinceOffsetsAreHonoured) {
  trigger("{}");
  const std::string created = runs()[0]["created_at"].get<std::string>();  // ...Z
  const std::regex parts(R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(created, m, parts)) << created;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  const std::time_t t = timegm(&tm);
  const int millis = std::stoi(m[7]);
  ASSERT_EQ(FormatInstant(t, millis, 0, "Z"), created) << "the test's own formatting";

  // The creation time itself, in UTC and as the same instant at +02:00, includes the run; a
  // minute later, or the same wall clock at +01:00 (an hour later), excludes it.
  EXPECT_EQ(runs({"--since", created}).size(), 1u) << created;
  const std::string later = FormatInstant(t + 60, millis, 0, "Z");
  EXPECT_EQ(runs({"--since", later}).size(), 0u) << later;
  std::string shifted = FormatInstant(t, millis, 2 * 3600, "+02:00");
  EXPECT_EQ(runs({"--since", shifted}).size(), 1u) << shifted;
  shifted = FormatInstant(t, millis, 2 * 3600, "+01:00");
  EXPECT_EQ(runs({"--since", shifted}).size(), 0u) << shifted << " is an hour later";
}

TEST_F(CliWorkflowTest, UnknownRunOrWorkflowIsAPgqrsError) {
  for (const char* command : {"run", "steps", "cancel"}) {
    Result r = cli({"workflow", command, "987654"});
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << describe(r);
    EXPECT_NE(r.err.find("run 987654 not found"), std::string::npos) << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
    r = cli_json({"workflow", command, "987654"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_EQ(parse_json(r)["error"]["code"], "validation") << describe(r);
  }

  Result r = cli({"workflow", "trigger", "nope", "{}"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("workflow 'nope' is not registered"), std::string::npos) << describe(r);
  EXPECT_EQ(runs().size(), 0u);
}

TEST_F(CliWorkflowTest, MalformedInputIsAUsageErrorAndTriggersNothing) {
  Result r = cli({"workflow", "trigger", "wf", R"({"x":)"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("invalid JSON payload"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("column"), std::string::npos) << describe(r);

  r = cli({"workflow", "trigger", "wf", "-"}, "{oops");
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("stdin"), std::string::npos) << describe(r);

  EXPECT_EQ(runs().size(), 0u);
}

}  // namespace
