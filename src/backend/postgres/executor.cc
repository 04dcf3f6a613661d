#include "backend/postgres/executor.h"

#include <algorithm>
#include <random>
#include <thread>

#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

using std::chrono::milliseconds;

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

bool ends_session(const std::string& sqlstate) {
  // 57014 is a cancelled statement (statement_timeout), not the end of the session.
  return sqlstate.starts_with("08") || (sqlstate.starts_with("57") && sqlstate != "57014");
}

bool try_again(const std::string& sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03";
}

}  // namespace

Executor::Executor(Pool& pool, const ConnectOptions& options, std::string schema, bool prepared)
    : pool_(pool),
      options_(options),
      schema_(std::move(schema)),
      timeout_(std::chrono::duration_cast<milliseconds>(options.connect_timeout)),
      prepared_(prepared) {}

void Executor::on_failure(std::string_view op, Mode mode, bool idempotent, bool commit_sent,
                          const PgError& e, int attempt, Clock::time_point start,
                          Clock::time_point deadline) {
  using Kind = PgError::Kind;
  const std::string what = "postgres: " + std::string(op);
  bool contention = false;
  switch (e.kind()) {
    case Kind::kNotSent:
      break;
    case Kind::kLost:
      if (mode != Mode::kRead && commit_sent && !idempotent) {
        throw ConnectionError(what +
                                  ": the connection was lost after the write was sent and before "
                                  "the server confirmed it, so it may or may not have been applied "
                                  "(outcome unknown; not retried): " +
                                  std::string(e.what()),
                              /*outcome_unknown=*/true);
      }
      break;
    case Kind::kServer: {
      const std::string& state = e.sqlstate();
      if (state == "26000") {
        // A pooler in transaction mode does not keep our prepared statements: stop using them.
        prepared_.store(false, std::memory_order_relaxed);
        break;
      }
      if (ends_session(state)) break;
      if (try_again(state)) {
        contention = true;
        break;
      }
      const std::string detail = std::string(e.what()) + " (SQLSTATE " + state + ")";
      if (state == "42P01") {
        throw ConfigError("pgqrs is not installed in schema '" + schema_ + "' of " +
                          options_.redacted +
                          " (run `pgqrs admin install` or admin(store).install()): " + detail);
      }
      if (state == "3F000") {
        throw ConfigError("schema '" + schema_ + "' does not exist in " + options_.redacted +
                          " (create it with CREATE SCHEMA, or set `schema`): " + detail);
      }
      if (state == "42501") throw ConfigError(what + ": permission denied: " + detail);
      if (state == "25006") {
        throw ConfigError(what + ": the server is read-only (a standby?): " + detail);
      }
      if (state.starts_with("23")) throw ConflictError(what + ": " + detail);
      if (state == "57014") throw TimeoutError(what + ": statement cancelled: " + detail);
      if (state.starts_with("53"))
        throw ConnectionError(what + ": server out of resources: " + detail);
      throw InternalError(what + " failed: " + detail);
    }
  }
  const auto now = Clock::now();
  if (now >= deadline) {
    const auto waited = std::chrono::duration_cast<milliseconds>(now - start).count();
    const std::string tail = " (gave up after " + std::to_string(waited) + " ms and " +
                             std::to_string(attempt + 1) +
                             " attempts, connection_timeout_seconds): " + e.what();
    if (contention) throw TimeoutError(what + ": kept conflicting with other transactions" + tail);
    throw ConnectionError(what + ": the database connection kept failing" + tail);
  }
  if (attempt == 0 && !contention) return;  // first retry at once, on a fresh connection
  const int shift = std::min(attempt, 7);
  const milliseconds window(std::min(1000, 5 << shift));
  std::uniform_int_distribution<milliseconds::rep> dist(window.count() / 2, window.count());
  std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(dist(rng())), deadline - now));
}

}  // namespace pgqrs::pg
