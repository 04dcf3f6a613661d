// pgqrs_workflow_worker: a workflow worker process for the crash test
// (workflow_crash_test.cc), killed with SIGKILL at random points.
//
//   pgqrs_workflow_worker DSN SCHEMA LOGFILE LEASE_SECONDS EXPECTED_RUNS
//
// Serves the workflow "crash_wf" (see below) with the real clock. With EXPECTED_RUNS = 0 it
// serves until killed; otherwise it exits 0 once EXPECTED_RUNS runs of crash_wf are
// finished (SUCCESS, ERROR or CANCELLED) and their messages archived, or 4 after a minute.
// LEASE_SECONDS is the run
// message lease (default_lock_time_seconds): how long a run held by a killed worker stays
// invisible before another worker resumes it.
//
// crash_wf, input {"n": N}: steps s1..s5, with a durable sleep "nap" (20 ms) before s4.
// Step si returns {"v": 10*N + i, "by": TOKEN}, TOKEN = "<pid>:<seq>" naming this execution
// of the body (seq counts body executions in this process). The run returns
// {"n": N, "total": sum of v, "by": [the five TOKENs]}.
//
// Side-effect log (LOGFILE), one line per event, each written with a single write() on an
// O_APPEND descriptor, so lines never interleave and their order in the file is the order
// in which they were written (a completed write() survives SIGKILL: the data is in the
// kernel, not in the killed process):
//   "body RUN STEP TOKEN"  the step body ran (its side effect, written before the body
//                          does a few ms of work and returns);
//   "done RUN STEP TOKEN"  written after workflow_step returned the output of a body that
//                          ran in this execution, i.e. after its success was recorded.
//
// Exit codes: 0 success, 1 a pgqrs error escaped, 2 usage, 3 other error, 4 timed out.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pgqrs/pgqrs.h"

namespace {

using namespace std::chrono_literals;
using pgqrs::json;

constexpr char kWorkflow[] = "crash_wf";
constexpr int kSteps = 5;
constexpr auto kOverallTimeout = std::chrono::minutes(1);

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

json Handler(pgqrs::Run& run, const json& input) {
  static thread_local std::mt19937 rng{static_cast<unsigned>(::getpid())};
  const int n = input.at("n").get<int>();
  const std::string run_id = std::to_string(run.id());
  int total = 0;
  json by = json::array();
  for (int i = 1; i <= kSteps; ++i) {
    if (i == 4) pgqrs::sleep(run, "nap", 20ms);
    const std::string step = "s" + std::to_string(i);
    bool ran = false;
    std::string token;
    json out = pgqrs::workflow_step(run, step, [&] {
      ran = true;
      token = std::to_string(::getpid()) + ":" + std::to_string(++g_seq);
      LogLine("body " + run_id + " " + step + " " + token);
      // Some work after the side effect, so many kills land between a body's side effect
      // and the recording of its success (the window a crash test must exercise).
      std::this_thread::sleep_for(std::chrono::microseconds(1000 + rng() % 7000));
      return json{{"v", 10 * n + i}, {"by", token}};
    });
    if (ran) LogLine("done " + run_id + " " + step + " " + token);
    total += out.at("v").get<int>();
    by.push_back(out.at("by"));
  }
  return json{{"n", n}, {"total", total}, {"by", by}};
}

std::uint64_t FinishedRuns(const pgqrs::Store& store) {
  std::uint64_t finished = 0;
  for (auto status : {pgqrs::WorkflowStatus::kSuccess, pgqrs::WorkflowStatus::kError,
                      pgqrs::WorkflowStatus::kCancelled}) {
    pgqrs::RunFilter filter;
    filter.workflow = kWorkflow;
    filter.status = status;
    filter.limit = 1000000;
    finished += pgqrs::admin(store).list_runs(filter).size();
  }
  return finished;
}

int Serve(const std::string& dsn, const std::string& schema, const std::string& logfile,
          std::uint32_t lease_seconds, std::uint64_t expected) {
  g_log_fd = ::open(logfile.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (g_log_fd < 0) {
    std::cerr << "cannot open " << logfile << ": " << std::strerror(errno) << "\n";
    return 3;
  }
  pgqrs::Config config = pgqrs::Config::load();
  config.dsn = dsn;
  config.schema = schema;
  config.default_lock_time_seconds = lease_seconds;
  config.poll_interval_ms = 20;
  pgqrs::Store store = pgqrs::connect_with_config(config);
  pgqrs::WorkflowDef def(kWorkflow, Handler);
  auto consumer =
      pgqrs::consumer("crash-worker-" + std::to_string(::getpid()), kWorkflow).create(store);
  if (expected == 0) {
    pgqrs::workflow().name(def).consumer(consumer).poll(store);  // until killed
    return 0;
  }
  const auto deadline = std::chrono::steady_clock::now() + kOverallTimeout;
  // Done when every run is finished AND every run message is archived: a killed worker may
  // have finished a run but not archived its message, which then comes back (and is
  // archived) only once that worker's lease lapses.
  auto done = [&] {
    const auto m = pgqrs::admin(store).queue_metrics(kWorkflow);
    return FinishedRuns(store) >= expected && m.pending + m.leased + m.delayed == 0;
  };
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "timed out: " << FinishedRuns(store) << " of " << expected << " runs finished\n";
      return 4;
    }
    pgqrs::workflow().name(def).consumer(consumer).until(300ms).poll(store);
  }
  consumer.suspend();
  consumer.shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() != 5) {
    std::cerr << "usage: pgqrs_workflow_worker DSN SCHEMA LOGFILE LEASE_SECONDS EXPECTED_RUNS\n";
    return 2;
  }
  try {
    return Serve(args[0], args[1], args[2], static_cast<std::uint32_t>(std::stoul(args[3])),
                 std::stoull(args[4]));
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs error (" << pgqrs::to_string(e.code()) << "): " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
}
