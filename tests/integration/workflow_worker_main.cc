// pgqrs_workflow_worker: a workflow worker process for the crash test
// (workflow_crash_test.cc), killed with SIGKILL at random points.
//
//   pgqrs_workflow_worker DSN SCHEMA LOGFILE LEASE_SECONDS EXPECTED_RUNS [fanout]
//
// With "fanout" it serves fan_parent / fan_child instead (see ServeFanout): a parent that
// starts children and gathers them.
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
#include <stop_token>
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

// ---- fanout mode (the 6th argument "fanout"): fan_parent, input {"children": N}, starts N
// runs of fan_child ({"n": i}) and gathers them; returns {"total": sum of their v}. fan_child
// runs one step "work" (logged like crash_wf's steps) returning {"v": 2n, "by": TOKEN}.
constexpr char kFanParent[] = "fan_parent";
constexpr char kFanChild[] = "fan_child";

json FanChild(pgqrs::Run& run, const json& input) {
  const int n = input.at("n").get<int>();
  const std::string run_id = std::to_string(run.id());
  bool ran = false;
  std::string token;
  json out = pgqrs::workflow_step(run, "work", [&] {
    ran = true;
    token = std::to_string(::getpid()) + ":" + std::to_string(++g_seq);
    LogLine("body " + run_id + " work " + token);
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + (g_seq % 4)));
    return json{{"v", 2 * n}, {"by", token}};
  });
  if (ran) LogLine("done " + run_id + " work " + token);
  return out;
}

json FanParent(pgqrs::Run& run, const json& input) {
  const int children = input.at("children").get<int>();
  std::vector<pgqrs::ChildRun> kids;
  for (int i = 0; i < children; ++i) kids.push_back(run.start_child(kFanChild, json{{"n", i}}));
  int total = 0;
  for (const auto& out : run.gather(kids)) total += out.at("v").get<int>();
  return json{{"total", total}};
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

// Finished runs of `workflow` and whether its queue holds no pending, leased or delayed
// message.
bool AllDone(const pgqrs::Store& store, const char* workflow, std::uint64_t expected) {
  std::uint64_t finished = 0;
  for (auto status : {pgqrs::WorkflowStatus::kSuccess, pgqrs::WorkflowStatus::kError,
                      pgqrs::WorkflowStatus::kCancelled}) {
    pgqrs::RunFilter filter;
    filter.workflow = workflow;
    filter.status = status;
    filter.limit = 1000000;
    finished += pgqrs::admin(store).list_runs(filter).size();
  }
  const auto m = pgqrs::admin(store).queue_metrics(workflow);
  return finished >= expected && m.pending + m.leased + m.delayed == 0;
}

// Fanout mode: fan_parent and fan_child served on two threads; with expected = 0 until
// killed, else until `expected` parents are finished and both queues are drained.
int ServeFanout(pgqrs::Store& store, std::uint64_t expected) {
  pgqrs::WorkflowDef parent(kFanParent, FanParent);
  pgqrs::WorkflowDef child(kFanChild, FanChild);
  const std::string tag = std::to_string(::getpid());
  auto parent_consumer = pgqrs::consumer("fan-parent-" + tag, kFanParent).create(store);
  auto child_consumer = pgqrs::consumer("fan-child-" + tag, kFanChild).create(store);
  std::stop_source stop;
  std::thread children([&] {
    pgqrs::workflow().name(child).consumer(child_consumer).stop_token(stop.get_token()).poll(store);
  });
  const auto deadline = std::chrono::steady_clock::now() + kOverallTimeout;
  int code = 0;
  if (expected == 0) {
    pgqrs::workflow().name(parent).consumer(parent_consumer).poll(store);  // until killed
  } else {
    while (!(AllDone(store, kFanParent, expected) && AllDone(store, kFanChild, 0))) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "timed out: fanout not finished\n";
        code = 4;
        break;
      }
      pgqrs::workflow().name(parent).consumer(parent_consumer).until(300ms).poll(store);
    }
  }
  stop.request_stop();
  children.join();
  return code;
}

int Serve(const std::string& dsn, const std::string& schema, const std::string& logfile,
          std::uint32_t lease_seconds, std::uint64_t expected, bool fanout) {
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
  if (fanout) return ServeFanout(store, expected);
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
  if (args.size() != 5 && !(args.size() == 6 && args[5] == "fanout")) {
    std::cerr << "usage: pgqrs_workflow_worker DSN SCHEMA LOGFILE LEASE_SECONDS EXPECTED_RUNS "
                 "[fanout]\n";
    return 2;
  }
  try {
    return Serve(args[0], args[1], args[2], static_cast<std::uint32_t>(std::stoul(args[3])),
                 std::stoull(args[4]), args.size() == 6);
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs error (" << pgqrs::to_string(e.code()) << "): " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
}
