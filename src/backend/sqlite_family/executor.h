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
// Leases and acknowledgements go through write_grouped(): the writes of concurrent threads
// are committed together, one transaction for a group of callers (group commit,
// group_commit.h), each caller in its own savepoint so that one failing body fails only its
// caller. A caller still returns only after the transaction holding its write committed.
//
// Contract for `body`: it is called with a Session inside an open transaction and may be
// called several times (once per attempt), so it must not have effects outside the
// database other than building its return value. Any exception other than BusyError rolls
// back and propagates unchanged.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "backend/sqlite_family/connection.h"
#include "backend/sqlite_family/group_commit.h"
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

  // write(), committed together with the concurrent write_grouped() calls of other threads
  // (group commit, group_commit.h): `body` runs in its own savepoint inside a transaction
  // that may carry other callers' bodies, and this returns (or throws what `body` threw)
  // once that transaction committed. Meant for short, hot writes (leases, acknowledgements).
  // A gated store uses write(): its gate already groups what is slow there (S3 uploads).
  template <class F>
  std::invoke_result_t<F&, Session&> write_grouped(std::string_view op, F&& body) {
    using Result = std::invoke_result_t<F&, Session&>;
    if (gate_ != nullptr) return write(op, body);
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    if constexpr (std::is_void_v<Result>) {
      GroupCommit::Request request(op, deadline, [&](Session& s) { body(s); });
      groups_.submit(request, [this](GroupCommit::Request& leader) { lead(leader); });
    } else {
      std::optional<Result> out;
      GroupCommit::Request request(op, deadline, [&](Session& s) {
        out.reset();
        out.emplace(body(s));
      });
      groups_.submit(request, [this](GroupCommit::Request& leader) { lead(leader); });
      return std::move(*out);
    }
  }

  // What group commit did so far (tests, profiles).
  GroupCommit::Stats group_stats() const { return groups_.stats(); }
  // Requests waiting for or inside a group now (tests that need a group to form).
  std::size_t grouped_waiting() const { return groups_.queued(); }

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

  // GroupCommit's `lead`: takes this process's writer lock (TimeoutError for `leader` alone
  // past its deadline) and commits the group of `leader`, then a few more groups while
  // requests wait. Never throws.
  void lead(GroupCommit::Request& leader);
  // One group: opens BEGIN IMMEDIATE, takes the queued requests (`front` first), runs each
  // in a savepoint, commits and completes them. Busy: rolls back and retries like run(),
  // until front's deadline. Never throws.
  void commit_group(GroupCommit::Request& front);
  // Runs `request`'s body in a savepoint of the open transaction; its error (not BusyError,
  // which fails the attempt) is kept in the request and its writes rolled back.
  static void run_in_savepoint(Session& session, GroupCommit::Request& request, bool alone);

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
  GroupCommit groups_;   // write_grouped()'s queue
};

}  // namespace pgqrs::sqlite_family
