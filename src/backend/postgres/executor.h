// Runs one backend operation on a pooled connection, and decides — from exactly how it
// failed — whether it may be run again.
//
// Three shapes of operation:
//  - read(op, body)        : statements that change nothing. Retried on a fresh connection
//                            after any connection failure.
//  - write(op, body)       : body sends exactly ONE statement, which commits on its own
//                            (autocommit; the whole operation is written as one statement,
//                            with CTEs where it has several steps).
//  - transaction(op, body) : BEGIN; body's statements; COMMIT — for the few operations that
//                            need several round trips (schema changes, delete_queue).
//
// Retry rules, within connection_timeout_seconds from the start of the operation:
//  - the request never left, or the server answered with an error that ends the session
//    (terminated by an administrator, shutting down) or that means "try again"
//    (serialization failure, deadlock): nothing was applied, so run it again;
//  - the server rejected a prepared statement it no longer has (26000, e.g. behind a
//    transaction pooler): switch this backend to unprepared statements and run it again;
//  - the connection broke after a write's commit was sent and before its answer arrived:
//    the outcome is unknown. Never retried (unless the operation is idempotent, like
//    install): ConnectionError with outcome_unknown() == true;
//  - any other server error is translated (undefined table -> ConfigError "not installed",
//    missing schema -> ConfigError, ...) and thrown at once.
// When the budget is spent: ConnectionError (retryable) or TimeoutError.
//
// `body` receives a Session and may be called several times (once per attempt), so it must
// not have effects outside the database other than building its return value. pgqrs errors
// it throws (QueueNotFoundError, ...) propagate unchanged; a transaction is rolled back.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "backend/postgres/connection.h"
#include "backend/postgres/pool.h"

namespace pgqrs::pg {

// The connection of one attempt of one operation.
class Session {
 public:
  // Requests of this session wait for their answers no later than `deadline` (H8).
  Session(
      Connection& conn, bool prepared,
      std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max())
      : conn_(conn), prepared_(prepared) {
    conn_.set_deadline(deadline);
  }
  ~Session() { conn_.clear_deadline(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // One statement, binary parameters and results.
  Result exec(const Statement& st, const Params& params) {
    ++statements_;
    return conn_.exec(st, params, prepared_);
  }
  // SQL text through the simple query protocol (DDL, BEGIN/COMMIT).
  Result simple(const std::string& sql) {
    ++statements_;
    return conn_.exec_simple(sql);
  }
  Connection& connection() { return conn_; }
  int statements() const { return statements_; }

 private:
  Connection& conn_;
  const bool prepared_;
  int statements_ = 0;
};

// The shape of an operation (see above).
enum class OpKind { kRead, kWrite, kTransaction };

// What to do about a failed attempt. Pure: the whole retry policy in one place.
enum class Verdict {
  kRetry,                 // nothing was applied: run it again on a fresh connection
  kRetryAfterContention,  // serialization failure / deadlock / lock not available
  kRetryUnprepared,       // 26000: the server lost our prepared statement (a pooler)
  kOutcomeUnknown,        // a write's commit was sent and no answer came back
  kFail,                  // a server error that retrying cannot fix: translate and throw
};
// `commit_sent`: the request that commits (the write's statement, or COMMIT) had been sent.
Verdict classify_failure(OpKind kind, bool idempotent, bool commit_sent, const PgError& e);

class Executor {
 public:
  // `schema` is used in error messages only.
  Executor(Pool& pool, const ConnectOptions& options, std::string schema, bool prepared);

  template <class F>
  auto read(std::string_view op, F&& body) {
    return run(op, OpKind::kRead, /*idempotent=*/true, body);
  }
  // read() within `budget` instead of the executor's timeout (connect()'s first read).
  template <class F>
  auto read_within(std::string_view op, std::chrono::milliseconds budget, F&& body) {
    return run(op, OpKind::kRead, /*idempotent=*/true, body, budget);
  }
  template <class F>
  auto write(std::string_view op, F&& body) {
    return run(op, OpKind::kWrite, /*idempotent=*/false, body);
  }
  // `idempotent`: running it twice has the same effect as once (install, uninstall), so an
  // unknown commit outcome is resolved by running it again.
  template <class F>
  auto transaction(std::string_view op, F&& body, bool idempotent = false) {
    return run(op, OpKind::kTransaction, idempotent, body);
  }

  bool prepared() const { return prepared_.load(std::memory_order_relaxed); }
  std::chrono::milliseconds timeout() const { return timeout_; }
  Pool& pool() { return pool_; }

 private:
  using Clock = std::chrono::steady_clock;

  template <class F>
  std::invoke_result_t<F&, Session&> run(std::string_view op, OpKind mode, bool idempotent, F& body,
                                         std::optional<std::chrono::milliseconds> budget = {}) {
    using R = std::invoke_result_t<F&, Session&>;
    const auto start = Clock::now();
    const auto deadline = start + budget.value_or(timeout_);
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_.acquire(deadline);
      // Inside BEGIN ... COMMIT statements go unprepared: a failed PQprepare (e.g. a name a
      // pooler's server session already has) would abort the whole transaction.
      Session s(*lease, prepared() && mode != OpKind::kTransaction, deadline);
      bool commit_sent = false;
      try {
        if (mode == OpKind::kTransaction) s.simple("BEGIN");
        if constexpr (std::is_void_v<R>) {
          body(s);
          if (mode == OpKind::kTransaction) {
            commit_sent = true;
            s.simple("COMMIT");
          }
          return;
        } else {
          R result = body(s);
          if (mode == OpKind::kTransaction) {
            commit_sent = true;
            s.simple("COMMIT");
          }
          return result;
        }
      } catch (const PgError& e) {
        if (e.broken()) lease.mark_broken();
        if (mode == OpKind::kWrite) commit_sent = s.statements() > 0;
        on_failure(op, mode, idempotent, commit_sent, e, attempt, start, deadline);
      }
    }
  }

  // Returns when the operation should be run again (after a pause, if any); otherwise
  // throws the pgqrs error for `e`.
  void on_failure(std::string_view op, OpKind mode, bool idempotent, bool commit_sent,
                  const PgError& e, int attempt, Clock::time_point start,
                  Clock::time_point deadline);

  Pool& pool_;
  const ConnectOptions& options_;
  const std::string schema_;
  const std::chrono::milliseconds timeout_;
  std::atomic<bool> prepared_;
};

}  // namespace pgqrs::pg
