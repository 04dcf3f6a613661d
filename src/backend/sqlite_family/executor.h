// Runs one backend operation as one transaction, retrying it on lock contention.
//
// This is what makes the SQLite family safe when several threads *and processes* share one
// database file: every operation runs inside a database transaction (BEGIN IMMEDIATE for
// writes), so atomicity and mutual exclusion come from SQLite's file locks, not from any
// in-process mutex. When another connection holds the lock, the statement first waits inside
// SQLite (busy_timeout); if it still fails with BusyError the whole transaction is rolled
// back and run again after a short randomized backoff, until connection_timeout_seconds have
// passed since the operation started; then TimeoutError. Waiting for a pooled connection
// counts against the same budget.
//
// Writers of ONE process (threads sharing this Executor) also queue on an in-process mutex
// before BEGIN IMMEDIATE. That is for speed, not correctness: without it, threads that find
// the file locked wait in SQLite's busy handler, which sleeps and polls (1, 2, 5, 10, ...
// ms), so a second consumer thread made draining slower than one (measured: 4 consumers at
// 0.2x one consumer's throughput); with it the lock is handed from thread to thread at
// once. Other processes are still excluded by the file lock alone.
//
// Contract for `body`: it is called with a Session inside an open transaction and may be
// called several times (once per attempt), so it must not have effects outside the
// database other than building its return value. Any exception other than BusyError rolls
// back and propagates unchanged.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "backend/sqlite_family/connection.h"
#include "backend/sqlite_family/operation_gate.h"
#include "backend/sqlite_family/pool.h"
#include "backend/sqlite_family/transaction.h"
#include "backend/sqlite_family/writer_lock.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {

class Executor {
 public:
  // `timeout`: total budget of one operation (connection_timeout_seconds).
  Executor(ConnectionPool& pool, std::chrono::milliseconds timeout, std::string backend_name)
      : pool_(pool), timeout_(timeout), backend_name_(std::move(backend_name)) {}

  // In BEGIN IMMEDIATE: holds the write lock from the start, serialising with every other
  // writer of the file (in any process).
  template <class F>
  auto write(std::string_view op, F&& body) {
    return gated(/*write=*/true, [&] { return run(op, Transaction::Mode::kImmediate, body); });
  }
  // In a deferred (read) transaction: a consistent snapshot across several statements. In
  // WAL mode readers never wait for writers.
  template <class F>
  auto read(std::string_view op, F&& body) {
    return gated(/*write=*/false, [&] { return run(op, Transaction::Mode::kDeferred, body); });
  }

  std::chrono::milliseconds timeout() const { return timeout_; }

  // Every later operation runs inside `gate` (operation_gate.h); null: none. Set before the
  // store is used by more than one thread; the gate must outlive the executor's use.
  void set_gate(OperationGate* gate) { gate_ = gate; }

 private:
  // `call` directly, or as one operation through the gate.
  template <class Call>
  auto gated(bool write, Call&& call) -> std::invoke_result_t<Call&> {
    using Result = std::invoke_result_t<Call&>;
    if (gate_ == nullptr) return call();
    if constexpr (std::is_void_v<Result>) {
      if (write) {
        gate_->around_write(call);
      } else {
        gate_->around_read(call);
      }
    } else {
      std::optional<Result> out;
      auto keep = [&] { out.emplace(call()); };
      if (write) {
        gate_->around_write(keep);
      } else {
        gate_->around_read(keep);
      }
      if (!out) throw InternalError("an operation gate returned without running the operation");
      return std::move(*out);
    }
  }

  template <class F>
  std::invoke_result_t<F&, Session&> run(std::string_view op, Transaction::Mode mode, F& body) {
    using Result = std::invoke_result_t<F&, Session&>;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout_;
    WriterLockHold writing(write_mu_);
    if (mode == Transaction::Mode::kImmediate && !writing.acquire(deadline)) {
      throw_timeout(op, start);
    }
    for (int attempt = 0;; ++attempt) {
      try {
        auto lease = pool_.acquire(deadline);
        Transaction tx(*lease, mode);
        if constexpr (std::is_void_v<Result>) {
          body(*lease);
          tx.commit();
          return;
        } else {
          Result result = body(*lease);
          tx.commit();
          return result;
        }
      } catch (const BusyError& e) {
        wait_before_retry(op, attempt, start, deadline, e);
      }
    }
  }

  // Sleeps a randomized, growing backoff, or throws TimeoutError when the budget is spent.
  void wait_before_retry(std::string_view op, int attempt,
                         std::chrono::steady_clock::time_point start,
                         std::chrono::steady_clock::time_point deadline,
                         const BusyError& error) const;

  // TimeoutError: `op` found no chance to write within the budget.
  [[noreturn]] void throw_timeout(std::string_view op,
                                  std::chrono::steady_clock::time_point start) const;

  ConnectionPool& pool_;
  OperationGate* gate_ = nullptr;
  const std::chrono::milliseconds timeout_;
  const std::string backend_name_;
  WriterLock write_mu_;  // held by this process's writer (see above)
};

}  // namespace pgqrs::sqlite_family
