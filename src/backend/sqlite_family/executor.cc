#include "backend/sqlite_family/executor.h"

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr microseconds kBackoffBase{500};
constexpr microseconds kBackoffCap{50'000};

// Groups one leader commits in a row while requests keep arriving (decision G2).
constexpr int kGroupsPerLeader = 4;

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

void Executor::lead(GroupCommit::Request& leader) {
  WriterLockHold writing(write_mu_);
  if (!writing.acquire(leader.deadline)) {
    try {
      throw_timeout(leader.op, leader.deadline - timeout_);
    } catch (...) {
      groups_.complete({&leader}, std::current_exception(), /*committed=*/false);
    }
    return;
  }
  // While requests keep coming, the next group is led from here: the write lock stays on
  // this thread (no hand-off between groups) and the callers of the finished groups run
  // their handlers meanwhile. Bounded, because this thread's own caller waits meanwhile.
  GroupCommit::Request* front = &leader;
  for (int round = 0; round < kGroupsPerLeader && front != nullptr; ++round) {
    commit_group(*front);
    front = groups_.front();
  }
}

void Executor::commit_group(GroupCommit::Request& front) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<GroupCommit::Request*> batch;  // the attempt's requests; empty between attempts
  try {
    for (int attempt = 0;; ++attempt) {
      try {
        auto lease = pool_.acquire(front.deadline);
        Transaction tx(*lease, Transaction::Mode::kImmediate);
        // Taken once the write lock is held, so that everything queued while the leader
        // waited for it (or for another process's writer) rides in this group.
        batch = groups_.take();
        for (GroupCommit::Request* request : batch) {
          run_in_savepoint(*lease, *request, batch.size() == 1);
        }
        tx.commit();
        break;
      } catch (const BusyError& e) {
        // Rolled back: the requests stay queued and are taken again by the next attempt.
        // A timeout below fails the front request only; the others get their own budget.
        batch.clear();
        wait_before_retry(front.op, attempt, start, front.deadline, e);
      }
    }
  } catch (...) {
    // Nothing of this attempt committed: before take(), only the front request failed;
    // after it, the group's transaction failed (commit, or a savepoint that could not roll
    // back).
    if (batch.empty()) batch.push_back(&front);
    groups_.complete(batch, std::current_exception(), /*committed=*/false);
    return;
  }
  groups_.complete(batch, nullptr, /*committed=*/true);
}

void Executor::run_in_savepoint(Session& session, GroupCommit::Request& request, bool alone) {
  request.error = nullptr;
  if (alone) {  // a group of one: its failure rolls back the whole transaction, as write()
    request.run(session);
    return;
  }
  session.query("SAVEPOINT pgqrs_group_request").execute();
  try {
    request.run(session);
  } catch (const BusyError&) {
    throw;  // the attempt fails; the whole group is retried
  } catch (...) {
    request.error = std::current_exception();
    try {
      session.query("ROLLBACK TO pgqrs_group_request").execute();
    } catch (...) {
      // The engine already dropped the transaction (e.g. disk full, I/O error): the error
      // is the database's, not this request's, so it fails the group.
      std::rethrow_exception(request.error);
    }
  }
  session.query("RELEASE pgqrs_group_request").execute();
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
