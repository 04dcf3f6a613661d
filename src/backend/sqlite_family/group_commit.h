// GroupCommit: the queue behind the SQLite family's group commit (internal; used by the
// Executor, executor.h). Threads of one process that write leases and acknowledgements
// (dequeue, archive, release, ...) enqueue a Request and block. One of them at a time is the
// *leader*: the first request at the front of the queue while nobody leads. Its thread opens
// one write transaction, takes every request queued at that moment (the front first, up to
// kMaxGroup, in arrival order), runs each in its own savepoint, commits once and hands each
// request its own outcome. While requests keep arriving, the leader goes on with the next
// group (up to a few groups, executor.cc) before it hands the lead to the request then at
// the front. One thread alone never waits for anybody: it leads a group of one.
//
// Why a leader and not a dedicated writer thread (decision G2): a single consumer pays no
// thread hand-off at all, and a group needs no thread that outlives the store.
//
// Contract:
//  - submit() returns once `request` is complete: its body ran in a group whose transaction
//    committed (its result is in the caller's storage and durable), or it failed (submit
//    rethrows its error; nothing it wrote is committed).
//  - A request's own error (its body threw) fails that request only; the others of the
//    group still commit (savepoints, executor.cc). A failure of the group itself (the
//    transaction cannot commit) fails every request that was in it.
//  - `lead` is called on the leader's thread with the leader's request, which is then the
//    front of the queue; it must complete() it (and every request it took), and must not
//    throw. Only one `lead` runs at a time.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

namespace pgqrs::sqlite_family {

class Session;

class GroupCommit {
 public:
  // Most requests one transaction takes: bounds how long a group holds the write lock (and
  // how much one failed commit takes down). Consumers of one process rarely reach it.
  static constexpr std::size_t kMaxGroup = 32;

  // One caller's write. `run` is the caller's body: called inside the group's transaction
  // (within the request's savepoint), possibly more than once (once per attempt of the
  // group); it stores its result in the caller's storage, replacing an earlier attempt's.
  struct Request {
    Request(std::string_view op_name, std::chrono::steady_clock::time_point until,
            std::function<void(Session&)> body)
        : op(op_name), deadline(until), run(std::move(body)) {}
    std::string_view op;                             // for error messages
    std::chrono::steady_clock::time_point deadline;  // the caller's budget (real time)
    std::function<void(Session&)> run;
    std::exception_ptr error;  // this request's failure; null: it succeeded
    // Guarded by the queue's mutex:
    bool done = false;
    std::condition_variable wake;  // done, or this request became the front
  };

  // Counters for tests and profiles (monotonic, since construction).
  struct Stats {
    std::uint64_t groups = 0;    // transactions committed by a leader
    std::uint64_t requests = 0;  // requests those transactions carried
    std::uint64_t largest = 0;   // most requests in one committed group
  };

  // Queues `request`, leads a group when it reaches the front (calls `lead(request)`), and
  // returns when it is complete; rethrows its error.
  void submit(Request& request, const std::function<void(Request&)>& lead);

  // The leader's view: the first `max` queued requests (the front first). They stay queued
  // until complete()d; nobody else leads while a `lead` runs.
  std::vector<Request*> take(std::size_t max = kMaxGroup);
  // The leader's next group: the request now at the front, or null when none waits.
  Request* front();
  // Completes `batch` (the front of the queue, as take() returned it): each keeps its own
  // error, or gets `group_error` when that is set; wakes their callers.
  // `committed`: the batch's transaction committed (counted in stats()).
  void complete(const std::vector<Request*>& batch, std::exception_ptr group_error, bool committed);
  // How many requests wait or run (for tests that need a group to form).
  std::size_t queued() const;
  Stats stats() const;

 private:
  mutable std::mutex mu_;
  std::deque<Request*> queue_;  // GUARDED_BY(mu_); in arrival order
  bool leading_ = false;        // GUARDED_BY(mu_); a `lead` runs
  Stats stats_;                 // GUARDED_BY(mu_)
};

}  // namespace pgqrs::sqlite_family
