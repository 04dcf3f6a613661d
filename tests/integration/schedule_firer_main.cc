// Child process of schedule_multiprocess_test: walks a ManualClock from START_US to
// START_US + STEPS * STEP_MS (microseconds since the epoch, milliseconds) and fires due
// schedules at every step. Several of these race on one database; each tick must be fired
// by exactly one of them.
//   pgqrs_schedule_firer DSN START_US STEPS STEP_MS
// The DSN's environment applies (PGQRS_SCHEMA for Postgres). Exits 0, or 1 with a message.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "pgqrs/pgqrs.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s DSN START_US STEPS STEP_MS\n", argv[0]);
    return 2;
  }
  try {
    const pgqrs::TimePoint start{std::chrono::microseconds(std::stoll(argv[2]))};
    const int steps = std::stoi(argv[3]);
    const auto step = std::chrono::milliseconds(std::stoi(argv[4]));
    pgqrs::ConfigOverrides overrides;
    overrides.dsn = argv[1];
    auto clock = std::make_shared<pgqrs::ManualClock>(start);
    pgqrs::Store store =
        pgqrs::connect_with_config(pgqrs::Config::load(std::nullopt, overrides), clock);
    std::size_t fired = 0;
    for (int i = 0; i <= steps; ++i) {
      clock->set(start + i * step);
      for (int attempt = 0;; ++attempt) {
        try {
          fired += pgqrs::fire_due_schedules(store);
          break;
        } catch (const pgqrs::Error& e) {
          if (!e.retryable() || attempt > 50) throw;  // lock contention: try the step again
        }
      }
    }
    std::printf("fired %zu\n", fired);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "schedule firer: %s\n", e.what());
    return 1;
  }
}
