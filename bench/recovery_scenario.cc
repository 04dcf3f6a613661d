// workflow.recovery: a worker PROCESS is killed with SIGKILL in the middle of the runs and a
// new one started; measures the time from the kill until every run has finished and counts
// steps whose success had been recorded and whose body ran again (must be 0).
//
// The child (this binary with --worker-child LOG) logs to LOG, with one write() per line on
// an O_APPEND descriptor (a finished write() survives SIGKILL, and lines keep their order):
//   "body RUN STEP"  the step body is running (written before it returns),
//   "done RUN STEP"  workflow_step returned after running the body (its success is recorded).
// A "body" line after a "done" line of the same step is a finished step executed again.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "scenarios.h"

namespace pgqrs_bench {
namespace {

using pgqrs::json;

void log_line(int fd, const std::string& line) {
  const std::string text = line + "\n";
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::cerr << "pgqrs-bench worker: log write failed: " << std::strerror(errno) << "\n";
    std::_Exit(3);
  }
}

pid_t spawn_worker(const Options& o, const std::string& log, const std::string& workflow) {
  std::vector<std::string> args = {"pgqrs-bench",
                                   "--scenario",
                                   "workflow.recovery",
                                   "--dsn",
                                   o.dsn,
                                   "--steps",
                                   std::to_string(o.steps),
                                   "--lease",
                                   std::to_string(o.lease_seconds),
                                   "--quiet",
                                   "--worker-child",
                                   log,
                                   "--worker-workflow",
                                   workflow};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::execv("/proc/self/exe", argv.data());
    std::_Exit(127);
  }
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// Waits until `target` runs succeeded, or `limit` elapsed, or the child died. Returns the
// count reached.
std::uint64_t wait_for_runs(const pgqrs::Store& store, const std::string& workflow,
                            std::uint64_t target, std::chrono::seconds limit, pid_t child,
                            Progress& progress) {
  const auto deadline = SteadyClock::now() + limit;
  std::uint64_t done = 0;
  while (SteadyClock::now() < deadline) {
    done = count_runs(store, workflow, pgqrs::WorkflowStatus::kSuccess);
    progress.add(done - std::min(done, progress.done()));
    if (done >= target) break;
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) {
      throw std::runtime_error("the workflow worker process exited early (status " +
                               std::to_string(status) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done;
}

}  // namespace

int run_recovery_worker(const Options& o) {
  const int fd =
      ::open(o.worker_child_log->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::cerr << "pgqrs-bench worker: cannot open " << *o.worker_child_log << ": "
              << std::strerror(errno) << "\n";
    return 3;
  }
  pgqrs::Store store = open_store(o, 1, /*poll_interval_ms=*/20);
  pgqrs::WorkflowDef def(o.worker_workflow, [&](pgqrs::Run& run, const json& input) {
    const std::string run_id = std::to_string(run.id());
    for (std::uint32_t i = 0; i < o.steps; ++i) {
      const std::string step = "s" + std::to_string(i);
      bool ran = false;
      pgqrs::workflow_step(run, step, [&] {
        ran = true;
        log_line(fd, "body " + run_id + " " + step);
        // A little work after the side effect, so kills land inside step bodies too.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return static_cast<int>(i);
      });
      if (ran) log_line(fd, "done " + run_id + " " + step);
    }
    return json{{"n", input.at("n")}};
  });
  auto consumer =
      pgqrs::consumer(o.worker_workflow + "-" + std::to_string(::getpid()), o.worker_workflow)
          .create(store);
  pgqrs::workflow().name(def).consumer(consumer).poll(store);  // until killed
  return 0;
}

Record run_workflow_recovery(const Options& o) {
  pgqrs::Store store = open_store(o, 1);
  const std::string name = fresh_name("recovery");
  pgqrs::workflow().name(name).create(store);
  Progress progress("workflow.recovery trigger", o.messages, !o.quiet);
  for (std::uint64_t n = 0; n < o.messages; ++n) {
    pgqrs::workflow().name(name).trigger(json{{"n", n}}).execute(store);
    progress.add(1);
  }
  char log_template[] = "/tmp/pgqrs-bench-recovery-XXXXXX";
  const int log_fd = ::mkstemp(log_template);
  if (log_fd < 0) throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
  ::close(log_fd);
  const std::string log = log_template;

  progress.phase("workflow.recovery");
  const auto start = SteadyClock::now();
  const pid_t first = spawn_worker(o, log, name);
  const std::uint64_t at_kill =
      wait_for_runs(store, name, std::max<std::uint64_t>(1, o.messages / 3),
                    std::chrono::seconds(120), first, progress);
  kill_and_reap(first);
  const auto killed = SteadyClock::now();
  const pid_t second = spawn_worker(o, log, name);
  const std::uint64_t finished =
      wait_for_runs(store, name, o.messages, std::chrono::seconds(300), second, progress);
  const auto end = SteadyClock::now();
  kill_and_reap(second);

  std::ifstream in(log);
  std::set<std::string> finished_steps, started_steps;
  std::uint64_t bodies = 0, reexecuted_finished = 0, rerun_interrupted = 0;
  std::string kind, run, step;
  while (in >> kind >> run >> step) {
    const std::string key = run + " " + step;
    if (kind == "body") {
      ++bodies;
      if (finished_steps.count(key)) ++reexecuted_finished;
      if (!started_steps.insert(key).second && !finished_steps.count(key)) ++rerun_interrupted;
    } else if (kind == "done") {
      finished_steps.insert(key);
    }
  }
  ::unlink(log.c_str());

  Record r;
  r.scenario = o.scenario;
  r.backend = std::string(store.backend_name());
  r.consumers = 1;
  r.batch = 1;
  r.messages = o.messages;
  r.wall_ms = ms_between(start, end);
  r.msgs_per_s = static_cast<double>(finished) / (r.wall_ms / 1000.0);
  r.errors = reexecuted_finished + (o.messages - std::min(o.messages, finished));
  r.extra = {{"steps", o.steps},
             {"lease_s", o.lease_seconds},
             {"runs_done_at_kill", at_kill},
             {"recovery_ms", ms_between(killed, end)},
             {"step_bodies_run", bodies},
             {"reexecuted_finished_steps", reexecuted_finished},
             {"rerun_interrupted_steps", rerun_interrupted}};
  return r;
}

}  // namespace pgqrs_bench
