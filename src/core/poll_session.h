// PollSession: the bookkeeping around one poll loop (internal).
//
// For a named consumer it moves the worker ready -> polling on start and, on finish,
// polling -> ready (normal end) or interrupted -> suspended (interrupt); it watches the
// worker's status (in-process interrupt signal at once, other processes' changes at most one
// poll interval late), waits between idle polls so that interrupt and the stop token wake it,
// and runs a LeaseKeeper for heartbeats and lease extension.
// For the store's ephemeral consumer (no .worker()), it does no status bookkeeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include "core/lease_keeper.h"
#include "core/store_state.h"
#include "pgqrs/dequeue.h"
#include "pgqrs/error.h"
#include "pgqrs/records.h"

namespace pgqrs {

// The engine's access to a DequeueBuilder's settings (private to users).
struct DequeueAccess {
  using Options = DequeueBuilder::Options;
};

}  // namespace pgqrs

namespace pgqrs::core {

// A dequeue builder's options with every default filled in.
struct ResolvedDequeue {
  std::shared_ptr<detail::StoreState> store;
  std::shared_ptr<detail::WorkerState> named;  // null for the ephemeral consumer
  std::int64_t worker = 0;
  std::string queue;
  std::uint32_t batch = 1;
  std::chrono::seconds lease{30};
  std::chrono::milliseconds poll_interval{250};
  std::optional<std::chrono::milliseconds> until;
  bool until_empty = false;
  std::stop_token stop;
  RetryBackoff backoff;
};

ResolvedDequeue resolve(const DequeueAccess::Options& opts, const Store& store);

class PollSession {
 public:
  explicit PollSession(const ResolvedDequeue& r);
  ~PollSession();  // if finish() was not called: back to ready, errors swallowed
  PollSession(const PollSession&) = delete;
  PollSession& operator=(const PollSession&) = delete;

  // Why the loop must stop now, if it must (interrupt, stop token, deadline).
  std::optional<PollStop> should_stop();
  // Sleeps up to one poll interval (less if the deadline is nearer); returns early on
  // interrupt or stop request.
  void idle_wait();
  LeaseKeeper& keeper() { return keeper_; }

  // One turn of a poll loop: calls `fetch` (which leases messages) until it returns some,
  // and returns them. Between empty fetches it waits (idle_wait); a retryable pgqrs error
  // from `fetch` (lock contention, a lost connection whose effect is known) waits too and
  // tries again; any other error propagates. Returns nullopt, with stats.stop set, when the
  // loop must end: should_stop(), or an empty fetch under until_empty.
  template <class Fetch>
  std::optional<std::vector<QueueMessage>> next_batch(PollStats& stats, Fetch&& fetch) {
    while (true) {
      if (auto why = should_stop()) {
        stats.stop = *why;
        return std::nullopt;
      }
      std::vector<QueueMessage> msgs;
      try {
        msgs = fetch();
      } catch (const Error& e) {
        if (!e.retryable()) throw;
        idle_wait();
        continue;
      }
      if (!msgs.empty()) return msgs;
      if (r_.until_empty) {
        stats.stop = PollStop::kEmpty;
        return std::nullopt;
      }
      idle_wait();
    }
  }
  // Final status bookkeeping for a loop that ended for `why`.
  void finish(PollStop why);

 private:
  bool interrupted_locally();
  void wake(bool kick);
  void unsubscribe();

  const ResolvedDequeue& r_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::chrono::steady_clock::time_point next_status_check_;
  std::mutex local_mu_;  // used when there is no named worker
  std::condition_variable local_cv_;
  std::optional<std::stop_callback<std::function<void()>>> stop_cb_;
  // Set by an enqueue signal (same store or the backend's subscription); cleared by the
  // next idle_wait. GUARDED_BY(the worker's mu or local_mu_).
  bool kicked_ = false;
  std::uint64_t activity_token_ = 0;
  std::unique_ptr<backend::Subscription> subscription_;
  LeaseKeeper keeper_;
  bool finished_ = false;
};

}  // namespace pgqrs::core
