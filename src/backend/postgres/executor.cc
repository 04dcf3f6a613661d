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

Verdict classify_failure(OpKind kind, bool idempotent, bool commit_sent, const PgError& e) {
  switch (e.kind()) {
    case PgError::Kind::kNotSent:
      return Verdict::kRetry;
    case PgError::Kind::kLost:
      if (kind != OpKind::kRead && commit_sent && !idempotent) return Verdict::kOutcomeUnknown;
      return Verdict::kRetry;  // a read, or rolled back (the commit was never sent)
    case PgError::Kind::kServer:
      // An ErrorResponse means the statement (and its implicit or explicit transaction) did
      // not commit, whatever the kind of operation.
      if (e.sqlstate() == "26000") return Verdict::kRetryUnprepared;
      if (ends_session(e.sqlstate())) return Verdict::kRetry;
      if (try_again(e.sqlstate())) return Verdict::kRetryAfterContention;
      return Verdict::kFail;
  }
  return Verdict::kFail;
}

void Executor::on_failure(std::string_view op, OpKind mode, bool idempotent, bool commit_sent,
                          const PgError& e, int attempt, Clock::time_point start,
                          Clock::time_point deadline) {
  const std::string what = "postgres: " + std::string(op);
  const Verdict verdict = classify_failure(mode, idempotent, commit_sent, e);
  const bool contention = verdict == Verdict::kRetryAfterContention;
  if (verdict == Verdict::kOutcomeUnknown) {
    throw ConnectionError(what +
                              ": the connection was lost after the write was sent and before "
                              "the server confirmed it, so it may or may not have been applied "
                              "(outcome unknown; not retried): " +
                              std::string(e.what()),
                          /*outcome_unknown=*/true);
  }
  if (verdict == Verdict::kRetryUnprepared) {
    // A pooler in transaction mode does not keep our prepared statements: stop using them.
    prepared_.store(false, std::memory_order_relaxed);
  }
  if (verdict == Verdict::kFail) {
    const std::string& state = e.sqlstate();
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
    if (state.starts_with("23") || state == "2BP01") throw ConflictError(what + ": " + detail);
    if (state == "57014") throw TimeoutError(what + ": statement cancelled: " + detail);
    if (state.starts_with("53")) {
      throw ConnectionError(what + ": server out of resources: " + detail);
    }
    throw InternalError(what + " failed: " + detail);
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
