#include "backend/sqlite_family/executor.h"

#include <algorithm>
#include <random>
#include <string>
#include <thread>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr microseconds kBackoffBase{500};
constexpr microseconds kBackoffCap{50'000};

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

}  // namespace

void Executor::wait_before_retry(std::string_view op, int attempt,
                                 std::chrono::steady_clock::time_point start,
                                 std::chrono::steady_clock::time_point deadline,
                                 const BusyError& error) const {
  const auto now = std::chrono::steady_clock::now();
  if (now >= deadline) {
    const auto waited = std::chrono::duration_cast<milliseconds>(now - start);
    throw TimeoutError(backend_name_ + " database stayed locked by another connection: gave up " +
                       std::string(op) + " after " + std::to_string(waited.count()) + " ms and " +
                       std::to_string(attempt + 1) +
                       " attempts (connection_timeout_seconds); last error: " + error.what());
  }
  // Full jitter over an exponentially growing window, so that competing writers (possibly
  // in other processes) spread out instead of retrying in lockstep.
  const int shift = std::min(attempt, 7);
  const microseconds window = std::min(kBackoffBase * (1 << shift), kBackoffCap);
  std::uniform_int_distribution<microseconds::rep> dist(window.count() / 4, window.count());
  const auto remaining = std::chrono::duration_cast<microseconds>(deadline - now);
  std::this_thread::sleep_for(std::min(microseconds(dist(rng())), remaining));
}

void Executor::throw_timeout(std::string_view op,
                             std::chrono::steady_clock::time_point start) const {
  const auto waited =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  throw TimeoutError(backend_name_ + ": gave up " + std::string(op) + " after waiting " +
                     std::to_string(waited.count()) +
                     " ms for this process's other writers (connection_timeout_seconds)");
}

}  // namespace pgqrs::sqlite_family
