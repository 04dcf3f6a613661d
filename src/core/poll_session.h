// PollSession: the bookkeeping around one poll loop (internal).
//
// For a named consumer it moves the worker ready -> polling on start and, on finish,
// polling -> ready (normal end) or interrupted -> suspended (interrupt); it watches the
// worker's status (in-process interrupt signal at once, other processes' changes at most one
// poll interval late), waits between idle polls so that interrupt, the stop token and new
// work (the store's ActivityHub, the backend's subscription) wake it, and runs a LeaseKeeper
// for heartbeats and lease extension.
// Time: the poll interval, the `until` deadline and the status re-check period are measured
// on the store's Clock (a ManualClock drives them; with one that never moves, only wake-ups
// end an idle wait). The pause before retrying a transient storage error is real time
// (steady_clock): it waits for the machine, not for the schedule.
// For the store's ephemeral consumer (no .worker()), it does no status bookkeeping.
#pragma once

#include <atomic>
#include <chrono>
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
  // Waits one poll interval on the clock (less if the deadline is nearer); returns early on
  // new work, interrupt, stop request, or a clock move made while the loop was busy.
  void idle_wait();
  // Waits one poll interval of real time (transient storage error); returns early on stop
  // request or new work.
  void retry_wait();
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
      maintain();
      std::vector<QueueMessage> msgs;
      try {
        msgs = fetch();
      } catch (const Error& e) {
        if (!e.retryable()) throw;
        retry_wait();
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
  // Fires due schedules and prunes when their intervals have passed (core/maintenance.h).
  void maintain() noexcept;

 private:
  bool interrupted_locally();
  void wake(bool kick);
  void unsubscribe();

  bool wake_condition() const;

  const ResolvedDequeue& r_;
  std::optional<TimePoint> deadline_;
  TimePoint next_status_check_;
  // The named worker's waiter (interrupt() notifies it) or, for the ephemeral consumer, own.
  std::unique_ptr<Clock::Waiter> own_waiter_;
  Clock::Waiter* waiter_ = nullptr;
  std::unique_ptr<Clock::Waiter> retry_waiter_;  // real time
  std::optional<std::stop_callback<std::function<void()>>> stop_cb_;
  // Set by an enqueue signal (same store or the backend's subscription); cleared by the
  // next idle_wait.
  std::atomic<bool> kicked_{false};
  std::uint64_t activity_token_ = 0;
  std::unique_ptr<backend::Subscription> subscription_;
  LeaseKeeper keeper_;
  bool finished_ = false;
};

}  // namespace pgqrs::core
