// pgqrs-workflow-demo: a durable 3-step workflow survives a worker killed with SIGKILL.
//
// The program plays three roles, chosen by its first argument:
//   (none)               the orchestrator: sets up a SQLite file, triggers one run, starts a
//                        worker process, kills it (SIGKILL) while step 3 runs, starts a second
//                        worker, and prints what each process executed and the step records.
//   worker DB LOG slow   a worker whose step 3 takes a long time (it is killed there).
//   worker DB LOG fast   a worker that finishes the run.
// Every step body appends "<pid> <step>" to LOG before it does its work, so the log shows
// exactly which process ran which step body.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <pgqrs/pgqrs.h>

extern char** environ;

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr char kWorkflow[] = "order_pipeline";

pgqrs::Config demo_config(const std::string& db) {
  auto config = pgqrs::Config::from_dsn("sqlite://" + db);
  config.default_lock_time_seconds = 2;  // a dead worker's run is picked up again after 2 s
  config.heartbeat_interval_seconds = 1;
  config.poll_interval_ms = 50;
  return config;
}

void log_step(const std::string& log, const std::string& step) {
  // One write() with O_APPEND: lines from different processes never interleave.
  const std::string line = std::to_string(getpid()) + " " + step + "\n";
  int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0) return;
  [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
  ::fsync(fd);
  ::close(fd);
}

pgqrs::WorkflowDef order_pipeline(const std::string& log, bool slow_shipping) {
  return pgqrs::WorkflowDef(kWorkflow, [=](pgqrs::Run& run, const pgqrs::json& input) {
    auto reservation = pgqrs::workflow_step(run, "reserve_stock", [&] {
      log_step(log, "reserve_stock");
      return "R-" + input["order"].get<std::string>();
    });
    auto charge = pgqrs::workflow_step(run, "charge_card", [&] {
      log_step(log, "charge_card");
      return pgqrs::json{{"amount", input["amount"]}, {"reservation", reservation}};
    });
    auto tracking = pgqrs::workflow_step(run, "ship_order", [&] {
      log_step(log, "ship_order");
      if (slow_shipping) std::this_thread::sleep_for(60s);  // killed here
      return std::string("TRACK-") + input["order"].get<std::string>();
    });
    return pgqrs::json{
        {"reservation", reservation}, {"charged", charge["amount"]}, {"tracking", tracking}};
  });
}

int run_worker(const std::string& db, const std::string& log, bool slow) {
  auto store = pgqrs::connect_with_config(demo_config(db));
  auto def = order_pipeline(log, slow);
  auto consumer = pgqrs::consumer(slow ? "worker-1" : "worker-2", kWorkflow).create(store);
  pgqrs::workflow().name(def).consumer(consumer).until(60s).poll(store);
  return 0;
}

pid_t spawn_worker(const std::string& db, const std::string& log, const char* mode) {
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {self, "worker", db, log, mode};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot start a worker process");
  }
  return pid;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int orchestrate() {
  char tmpl[] = "/tmp/pgqrs-workflow-demo-XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  const std::string db = (dir / "demo.db").string();
  const std::string log = (dir / "steps.log").string();
  std::cout << "pgqrs workflow demo: a 3-step workflow survives a worker killed with SIGKILL\n\n"
            << "  database  sqlite://" << db << "  (deleted at exit)\n";

  auto store = pgqrs::connect_with_config(demo_config(db));
  pgqrs::admin(store).install();
  pgqrs::workflow().name(std::string(kWorkflow)).create(store);
  auto msg = pgqrs::workflow()
                 .name(std::string(kWorkflow))
                 .trigger({{"order", "A-1001"}, {"amount", 42.5}})
                 .execute(store);
  const auto run_id = pgqrs::run().message(msg).store(store).record().id;
  std::cout << "  run       " << run_id << " of workflow \"" << kWorkflow
            << "\" triggered: reserve_stock -> charge_card -> ship_order\n\n";

  // Worker 1: runs steps 1 and 2, then hangs in step 3 until we kill it.
  const pid_t first = spawn_worker(db, log, "slow");
  std::cout << "  worker 1  pid " << first << " started\n";
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (true) {
    auto lines = read_lines(log);
    if (!lines.empty() && lines.back().ends_with("ship_order")) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(first, SIGKILL);
      std::cerr << "worker 1 never reached step 3\n";
      return 1;
    }
    std::this_thread::sleep_for(20ms);
  }
  ::kill(first, SIGKILL);
  ::waitpid(first, nullptr, 0);
  std::cout << "  worker 1  killed with SIGKILL during step 3 (ship_order)\n";
  auto status = pgqrs::admin(store).get_run(run_id).status;
  std::cout << "  run       status " << pgqrs::to_string(status) << ", its lease expires in "
            << demo_config(db).default_lock_time_seconds << " s\n";

  // Worker 2: a fresh process resumes the run at step 3.
  const pid_t second = spawn_worker(db, log, "fast");
  std::cout << "  worker 2  pid " << second << " started\n";
  auto result = pgqrs::run().message(msg).store(store).result(30s);
  ::kill(second, SIGTERM);
  ::waitpid(second, nullptr, 0);
  std::cout << "  result    " << result.dump() << "\n\n";

  std::cout << "  step bodies executed, in order (from the side-effect log):\n";
  std::map<std::string, int> runs_per_step;
  for (const auto& line : read_lines(log)) {
    const auto space = line.find(' ');
    const auto pid = std::stoi(line.substr(0, space));
    const auto step = line.substr(space + 1);
    ++runs_per_step[step];
    std::cout << "    " << (pid == first ? "worker 1" : "worker 2") << "  " << step << "\n";
  }
  std::cout << "\n  step records:\n";
  // Killed mid-run, the run was still RUNNING (not lost, not finished).
  bool ok = status == pgqrs::WorkflowStatus::kRunning;
  for (const auto& step : pgqrs::admin(store).run_steps(run_id)) {
    std::cout << "    " << step.step_name << std::string(15 - step.step_name.size(), ' ')
              << pgqrs::to_string(step.status) << "   output " << step.output->dump() << "\n";
    ok = ok && step.status == pgqrs::WorkflowStatus::kSuccess;
  }
  ok = ok && runs_per_step["reserve_stock"] == 1 && runs_per_step["charge_card"] == 1 &&
       runs_per_step["ship_order"] == 2;
  std::cout << "\n  " << (ok ? "ok" : "FAILED")
            << ": steps 1 and 2 ran once (worker 2 replayed them from storage); step 3,\n"
            << "      interrupted by the kill, ran again in worker 2 (at-least-once body,\n"
            << "      exactly-once result)\n";
  fs::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 5 && std::string(argv[1]) == "worker") {
      return run_worker(argv[2], argv[3], std::string(argv[4]) == "slow");
    }
    return orchestrate();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
