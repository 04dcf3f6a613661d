// pgqrs_torture_worker: one worker process of the torture harness (torture_main.cc), killed
// with SIGKILL at random moments and restarted by the driver.
//
//   pgqrs_torture_worker DSN SCHEMA LOGFILE LEASE_SECONDS
//
// Serves the workflow "torture_wf" (torture_plan.h) with the store's real clock until it is
// killed. LEASE_SECONDS is the run message lease: how long a run held by a killed worker
// stays invisible before another worker resumes it. Every step body writes the side-effect
// log lines of torture_plan.h to LOGFILE.
//
// Exit codes (it should never exit by itself): 1 a pgqrs error escaped, 2 usage, 3 other.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pgqrs/pgqrs.h"
#include "torture/torture_plan.h"

namespace {

using pgqrs::json;
using namespace pgqrs_torture;

int g_log_fd = -1;
std::atomic<std::uint64_t> g_seq{0};

void LogLine(const std::string& line) {
  const std::string text = line + "\n";
  const ssize_t n = ::write(g_log_fd, text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    std::cerr << "log write failed: " << std::strerror(errno) << "\n";
    std::_Exit(3);
  }
}

// How many transient failures step `name` has recorded so far.
std::int32_t RetryCount(const pgqrs::Run& run, const std::string& name) {
  for (const auto& s : run.steps()) {
    if (s.step_name == name) return s.retry_count;
  }
  return 0;
}

json Handler(pgqrs::Run& run, const json& input) {
  static thread_local std::mt19937 rng{static_cast<unsigned>(::getpid())};
  const int n = input.at("n").get<int>();
  const json& plan = input.at("steps");
  const std::string run_id = std::to_string(run.id());
  pgqrs::StepRetryPolicy policy;
  policy.max_attempts = kMaxRetries;
  policy.backoff = pgqrs::BackoffStrategy::fixed(kRetryDelay);
  int total = 0;
  json by = json::array();
  for (std::size_t k = 0; k < plan.size(); ++k) {
    const int i = static_cast<int>(k) + 1;
    const std::string step = "s" + std::to_string(i);
    const int sleep_ms = plan[k].at("sleep_ms").get<int>();
    const int failures = plan[k].at("failures").get<int>();
    if (sleep_ms > 0) {
      pgqrs::sleep(run, "nap" + std::to_string(i), std::chrono::milliseconds(sleep_ms));
    }
    bool ran = false;
    std::string token;
    json out = pgqrs::workflow_step(
        run, step,
        [&] {
          token = std::to_string(::getpid()) + ":" + std::to_string(++g_seq);
          LogLine("body " + run_id + " " + step + " " + token);
          // Work after the side effect, so kills land between a body's side effect and the
          // recording of its outcome (the window a crash test must exercise).
          std::this_thread::sleep_for(std::chrono::microseconds(1000 + rng() % 14000));
          if (RetryCount(run, step) < failures) {
            LogLine("fail " + run_id + " " + step + " " + token);
            throw pgqrs::TransientStepError("planned failure of " + step, kRetryDelay);
          }
          ran = true;
          return json{{"v", StepValue(n, i)}, {"by", token}};
        },
        policy);
    if (ran) LogLine("done " + run_id + " " + step + " " + token);
    total += out.at("v").get<int>();
    by.push_back(out.at("by"));
  }
  return json{{"n", n}, {"total", total}, {"by", by}};
}

int Serve(const std::string& dsn, const std::string& schema, const std::string& logfile,
          std::uint32_t lease_seconds) {
  g_log_fd = ::open(logfile.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (g_log_fd < 0) {
    std::cerr << "cannot open " << logfile << ": " << std::strerror(errno) << "\n";
    return 3;
  }
  pgqrs::Config config = pgqrs::Config::load();
  config.dsn = dsn;
  config.schema = schema;
  config.default_lock_time_seconds = lease_seconds;
  config.poll_interval_ms = 20;
  // Turso allows one process per file (H24): a worker that finds it open elsewhere is a hot
  // standby and takes over when the holder dies (its flock goes with it).
  std::optional<pgqrs::Store> opened;
  while (!opened) {
    try {
      opened.emplace(pgqrs::connect_with_config(config));
    } catch (const pgqrs::ConnectionError& e) {
      if (std::string(e.what()).find("open in another process") == std::string::npos) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  pgqrs::Store& store = *opened;
  pgqrs::WorkflowDef def(kWorkflow, Handler);
  // Registering is a write: on S3 it can be refused by a concurrent writer (a retryable
  // ConflictError, nothing applied); retry it as a user would. The poll loop must survive
  // such errors on its own.
  std::optional<pgqrs::Consumer> consumer;
  for (int attempt = 1; !consumer; ++attempt) {
    try {
      consumer =
          pgqrs::consumer("torture-worker-" + std::to_string(::getpid()), kWorkflow).create(store);
    } catch (const pgqrs::Error& e) {
      if (!e.retryable() || attempt == 1000) throw;  // at once: the cache is fresh now
    }
  }
  pgqrs::workflow().name(def).consumer(*consumer).poll(store);  // until killed
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() != 4) {
    std::cerr << "usage: pgqrs_torture_worker DSN SCHEMA LOGFILE LEASE_SECONDS\n";
    return 2;
  }
  try {
    return Serve(args[0], args[1], args[2], static_cast<std::uint32_t>(std::stoul(args[3])));
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs error (" << pgqrs::to_string(e.code()) << "): " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
}
