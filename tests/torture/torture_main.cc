// pgqrs-torture: the torture harness of issue 18 item 5 (make torture, docs/reliability.md).
//
//   pgqrs_torture [--backends sqlite,postgres,turso,s3] [--seed N] [--kills N] [--runs N]
//                 [--workers N] [--lease-seconds N] [--drain-seconds N] [--dir DIR]
//
// Per backend, a round: a fresh database; --workers worker processes
// (pgqrs_torture_worker) serve the workflow of torture_plan.h; --runs runs (default
// 2 x kills, at least 20) are triggered a few at a time while the driver SIGKILLs a random
// worker after a random delay and starts a new one in its place, --kills times. Then the
// surviving workers finish everything (at most --drain-seconds), are killed, and
// torture_check.h's checks run. Prints the seed first, a progress line every 10 kills and a
// summary table (backend, runs, steps, kills, lost, duplicated steps, time).
//
// Turso allows one process per file (decision H24): the other workers are hot standbys that
// wait for the file, so the driver triggers every run before the workers start, kills the
// worker that executes steps (the pid of the newest side-log line), and opens the database
// only while no worker runs (drain: wait until the log is quiet, stop the workers, look).
//
// Reproducible: the seed fixes every run's input and the schedule of kills (which worker,
// after how long); the interleaving with the workers' own timing is not fixed.
//
// Exit: 0 every round passed; 1 a round failed (its problems printed); 2 usage; 77 no
// round failed but one was skipped because its service is not configured (a skip is not a
// pass: make torture runs under the test services).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/process_util.h"
#include "torture/torture_backend.h"
#include "torture/torture_check.h"
#include "torture/torture_plan.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace pgqrs_torture;
using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> backends{"sqlite", "postgres", "turso", "s3"};
  unsigned seed = 0;
  unsigned kills = 100;
  unsigned runs = 0;  // 0: 2 x kills, at least 20
  unsigned workers = 4;
  unsigned lease_seconds = 3;
  unsigned drain_seconds = 300;
  std::string dir;
};

struct Round {
  std::string backend;
  std::string skipped;  // the reason, when skipped
  unsigned runs = 0;
  unsigned kills = 0;
  CheckResult check;
  double seconds = 0;
};

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::uintmax_t FileSize(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// The pid in the token of the newest side-log line ("body|fail|done RUN STEP PID:N"), or 0.
pid_t NewestLogPid(const fs::path& log) {
  const std::string all = pgqrs_test::ReadFile(log);
  const std::size_t end = all.find_last_not_of('\n');
  if (end == std::string::npos) return 0;
  const std::size_t start = all.rfind('\n', end);
  const std::string line = all.substr(start == std::string::npos ? 0 : start + 1, end);
  const std::size_t space = line.rfind(' ');
  const std::size_t colon = line.rfind(':');
  if (space == std::string::npos || colon == std::string::npos || colon < space) return 0;
  try {
    return static_cast<pid_t>(std::stol(line.substr(space + 1, colon - space - 1)));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string Tail(const fs::path& p, std::size_t bytes) {
  std::string all = pgqrs_test::ReadFile(p);
  return all.size() > bytes ? "..." + all.substr(all.size() - bytes) : all;
}

fs::path MakeTempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a directory like " + pattern);
  }
  return pattern;
}

// One round on one backend; problems go into the returned round's check.
Round RunRound(const Options& o, const std::string& backend, const fs::path& dir) {
  Round round;
  round.backend = backend;
  const auto started = Clock::now();
  std::optional<Target> target = Target::Make(backend, dir, o.seed, round.skipped);
  if (!target) return round;
  round.runs = o.runs != 0 ? o.runs : std::max(20u, 2 * o.kills);
  const fs::path log = dir / "side-effects.log";
  const fs::path output = dir / "workers.out";

  // One process per file (Turso, H24): the driver holds the store only while no worker runs.
  const bool exclusive = backend == "turso";
  std::optional<pgqrs::Store> opened(target->Open());
  pgqrs::Store* store_ptr = &*opened;
  pgqrs::admin(*store_ptr).install();
  pgqrs::workflow().name(std::string(kWorkflow)).create(*store_ptr);
  std::mt19937 workload(o.seed);
  std::mt19937 schedule(o.seed ^ 0x9e3779b9u);
  std::map<std::int64_t, pgqrs::json> inputs;
  auto trigger_until = [&](unsigned count) {
    while (inputs.size() < count) {
      const pgqrs::json input = MakeInput(static_cast<int>(inputs.size()), workload);
      // On S3 a write racing the workers' is run again by the replica on the newer version
      // (H26); a retryable ConflictError means it was refused every time (nothing applied,
      // the cache now the newest version): an immediate retry builds on it.
      std::optional<pgqrs::QueueMessage> msg;
      for (int attempt = 1; !msg; ++attempt) {
        try {
          msg = pgqrs::workflow().name(std::string(kWorkflow)).trigger(input).execute(*store_ptr);
        } catch (const pgqrs::ConflictError& e) {
          if (!e.retryable() || attempt == 1000) throw;
        }
      }
      inputs[pgqrs::run().message(*msg).store(*store_ptr).record().id] = input;
    }
  };

  std::vector<pid_t> alive;
  std::set<pid_t> all_workers;
  std::uintmax_t log_at_spawn = 0;
  auto spawn = [&](std::size_t slot) {
    log_at_spawn = FileSize(log);
    const pid_t pid =
        pgqrs_test::SpawnLogged({PGQRS_TORTURE_WORKER_PATH, target->dsn(), target->schema(),
                                 log.string(), std::to_string(o.lease_seconds)},
                                output);
    if (pid <= 0) throw std::runtime_error("cannot start " PGQRS_TORTURE_WORKER_PATH);
    alive[slot] = pid;
    all_workers.insert(pid);
  };
  // A worker that exited by itself is a finding: report it with its output, replace it.
  auto reap_exited = [&] {
    for (std::size_t i = 0; i < alive.size(); ++i) {
      int status = 0;
      if (::waitpid(alive[i], &status, WNOHANG) != alive[i]) continue;
      round.check.problems.push_back("worker " + std::to_string(alive[i]) +
                                     " exited by itself (status " + std::to_string(status) +
                                     "); workers' output ends:\n" + Tail(output, 2000));
      spawn(i);
    }
  };

  const unsigned first_batch = exclusive ? round.runs : std::max(1u, round.runs / 4);
  trigger_until(first_batch);
  if (exclusive) opened.reset();  // the workers need the file
  alive.resize(o.workers);
  for (std::size_t i = 0; i < alive.size(); ++i) spawn(i);
  std::uniform_int_distribution<int> delay_ms(0, 250);
  for (unsigned k = 0; k < o.kills; ++k) {
    trigger_until(first_batch + (round.runs - first_batch) * (k + 1) / o.kills);
    // The delay counts from the moment the newest worker executes steps (the log grew since
    // its spawn, at most 3 s): kills that always land during start-up would test nothing.
    const auto wait_until = Clock::now() + 3s;
    while (FileSize(log) <= log_at_spawn && Clock::now() < wait_until) {
      std::this_thread::sleep_for(2ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(schedule)));
    reap_exited();
    std::size_t victim = schedule() % alive.size();
    if (exclusive) {  // the standbys do nothing: kill the worker that holds the file
      const pid_t active = NewestLogPid(log);
      for (std::size_t i = 0; i < alive.size(); ++i) {
        if (alive[i] == active) victim = i;
      }
    }
    pgqrs_test::KillAndReap(alive[victim]);
    ++round.kills;
    spawn(victim);
    if (exclusive && ((k + 1) % 10 == 0 || k + 1 == o.kills)) {
      std::cout << "[torture] " << backend << ": kill " << (k + 1) << "/" << o.kills << ", "
                << std::fixed << std::setprecision(1) << Since(started) << " s" << std::endl;
    } else if ((k + 1) % 10 == 0 || k + 1 == o.kills) {
      const auto m = pgqrs::admin(*store_ptr).queue_metrics(kWorkflow);
      std::cout << "[torture] " << backend << ": kill " << (k + 1) << "/" << o.kills
                << ", runs finished " << m.archived << "/" << inputs.size() << " triggered of "
                << round.runs << ", " << std::fixed << std::setprecision(1) << Since(started)
                << " s" << std::endl;
    }
  }
  trigger_until(round.runs);

  // Drain: the surviving workers finish every run and archive every message.
  const auto drain_deadline = Clock::now() + std::chrono::seconds(o.drain_seconds);
  auto last_progress = Clock::now();
  // Exclusive: the log quiet for two leases (+2 s) means the active worker found nothing
  // to do (a killed worker's messages wait out their lease); stop the workers and look.
  const auto quiet = std::chrono::seconds(2 * o.lease_seconds + 2);
  bool stopped = false;  // exclusive: the workers were stopped (and reaped) to look
  for (;;) {
    if (exclusive) {
      auto log_size = FileSize(log);
      auto grew = Clock::now();
      while (Clock::now() - grew < quiet && Clock::now() < drain_deadline) {
        std::this_thread::sleep_for(200ms);
        reap_exited();
        if (FileSize(log) != log_size) log_size = FileSize(log), grew = Clock::now();
      }
      for (pid_t pid : alive) pgqrs_test::KillAndReap(pid);
      stopped = true;
      opened.emplace(target->Open());
      store_ptr = &*opened;
    }
    const auto m = pgqrs::admin(*store_ptr).queue_metrics(kWorkflow);
    if (m.archived >= round.runs && m.pending + m.leased + m.delayed == 0) break;
    if (Clock::now() > drain_deadline) {
      round.check.problems.push_back("drain: after " + std::to_string(o.drain_seconds) +
                                     " s only " + std::to_string(m.archived) + " of " +
                                     std::to_string(round.runs) + " runs archived");
      break;
    }
    if (exclusive) {  // not drained yet: give the file back to fresh workers
      opened.reset();
      for (std::size_t i = 0; i < alive.size(); ++i) spawn(i);
      stopped = false;
      continue;
    }
    if (Clock::now() - last_progress > 10s) {
      last_progress = Clock::now();
      std::cout << "[torture] " << backend << ": draining, runs finished " << m.archived << "/"
                << round.runs << ", " << std::fixed << std::setprecision(1) << Since(started)
                << " s" << std::endl;
    }
    reap_exited();
    std::this_thread::sleep_for(200ms);
  }
  if (!stopped) {
    reap_exited();
    for (pid_t pid : alive) pgqrs_test::KillAndReap(pid);
  }
  if (!opened) opened.emplace(target->Open());

  CheckResult check = Check(*opened, inputs, log);
  check.problems.insert(check.problems.begin(), round.check.problems.begin(),
                        round.check.problems.end());
  round.check = std::move(check);
  round.seconds = Since(started);
  return round;
}

void PrintTable(const std::vector<Round>& rounds, const Options& o) {
  std::cout << "\n[torture] seed " << o.seed << ", " << o.workers << " workers, lease "
            << o.lease_seconds << " s\n";
  std::printf("| %-8s | %5s | %6s | %5s | %4s | %16s | %18s | %7s | %-6s |\n", "backend", "runs",
              "steps", "kills", "lost", "duplicated steps", "re-executed bodies", "time", "result");
  std::printf(
      "|----------|-------|--------|-------|------|------------------|--------------------|"
      "---------|--------|\n");
  for (const auto& r : rounds) {
    if (!r.skipped.empty()) {
      std::printf("| %-8s | skipped: %s\n", r.backend.c_str(), r.skipped.c_str());
      continue;
    }
    std::printf("| %-8s | %5llu | %6llu | %5u | %4llu | %16llu | %18llu | %6.1fs | %-6s |\n",
                r.backend.c_str(), static_cast<unsigned long long>(r.check.runs),
                static_cast<unsigned long long>(r.check.steps), r.kills,
                static_cast<unsigned long long>(r.check.lost),
                static_cast<unsigned long long>(r.check.duplicated_steps),
                static_cast<unsigned long long>(r.check.reexecuted_bodies), r.seconds,
                r.check.ok() ? "PASS" : "FAIL");
  }
  std::fflush(stdout);
}

unsigned ParseUnsigned(const std::string& flag, const std::string& v) {
  std::size_t used = 0;
  unsigned long n = 0;
  try {
    n = std::stoul(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || v.empty() || v[0] == '-' || n > 0xffffffffUL) {
    throw std::invalid_argument(flag + ": '" + v + "' is not a non-negative integer");
  }
  return static_cast<unsigned>(n);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  o.seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + ": missing value");
    const std::string v = argv[++i];
    if (flag == "--backends") {
      o.backends.clear();
      std::stringstream ss(v);
      for (std::string b; std::getline(ss, b, ',');) o.backends.push_back(b);
    } else if (flag == "--seed") {
      o.seed = ParseUnsigned(flag, v);
    } else if (flag == "--kills") {
      o.kills = ParseUnsigned(flag, v);
    } else if (flag == "--runs") {
      o.runs = ParseUnsigned(flag, v);
    } else if (flag == "--workers") {
      o.workers = std::max(1u, ParseUnsigned(flag, v));
    } else if (flag == "--lease-seconds") {
      o.lease_seconds = std::max(1u, ParseUnsigned(flag, v));
    } else if (flag == "--drain-seconds") {
      o.drain_seconds = ParseUnsigned(flag, v);
    } else if (flag == "--dir") {
      o.dir = v;
    } else {
      throw std::invalid_argument("unknown option '" + flag + "'");
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = ParseArgs(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "pgqrs_torture: " << e.what() << "\n";
    return 2;
  }
  std::cout << "[torture] seed " << o.seed << " (rerun with --seed " << o.seed << "), " << o.kills
            << " kills per backend, " << o.workers << " workers" << std::endl;
  std::vector<Round> rounds;
  bool failed = false, skipped = false;
  for (const auto& backend : o.backends) {
    // The round's files (database, side-effect log, workers' output) stay when it fails.
    const fs::path dir =
        o.dir.empty() ? MakeTempDir("pgqrs-torture-" + backend) : fs::path(o.dir) / backend;
    fs::create_directories(dir);
    Round round;
    try {
      round = RunRound(o, backend, dir);
    } catch (const std::exception& e) {
      round.backend = backend;
      round.check.problems.push_back(std::string("the round stopped: ") + e.what());
    }
    if (!round.skipped.empty()) {
      skipped = true;
      std::cout << "[torture] " << backend << ": skipped, " << round.skipped << std::endl;
    } else if (!round.check.ok()) {
      failed = true;
      std::cout << "[torture] " << backend << ": " << round.check.problems.size()
                << " problem(s); files kept in " << dir << "\n";
      for (std::size_t i = 0; i < round.check.problems.size() && i < 30; ++i) {
        std::cout << "  " << round.check.problems[i] << "\n";
      }
    } else if (o.dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
    rounds.push_back(std::move(round));
  }
  PrintTable(rounds, o);
  return failed ? 1 : skipped ? 77 : 0;
}
