// LeaseKeeper: a background thread that, while a handler runs, keeps the leases of the
// in-flight messages alive (vt = now + lease, every lease/3) and sends the worker's
// heartbeat every heartbeat interval. Started by a poll loop or a one-shot handler call and
// stopped (joined, bounded by one storage call) when it ends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/store_state.h"

namespace pgqrs::core {

class LeaseKeeper {
 public:
  LeaseKeeper(std::shared_ptr<detail::StoreState> store, std::int64_t worker,
              std::chrono::seconds lease);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // The messages whose leases to keep (replaces the previous set). Thread-safe.
  void track(std::vector<std::int64_t> ids);
  void clear() { track({}); }
  // The worker changed (the ephemeral consumer was replaced). Thread-safe.
  void set_worker(std::int64_t worker);

 private:
  void run();

  std::shared_ptr<detail::StoreState> store_;
  std::int64_t worker_;  // GUARDED_BY(mu_)
  std::chrono::seconds lease_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                    // GUARDED_BY(mu_)
  std::vector<std::int64_t> tracked_;                    // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point tracked_since_;  // GUARDED_BY(mu_)
  // When the thread will next look at its work (it sleeps until then). track() wakes it
  // only when the new set needs attention sooner, so a poll loop does not pay two thread
  // wake-ups per batch. GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point planned_wake_;
  std::chrono::steady_clock::duration extend_every_;
  std::thread thread_;
};

}  // namespace pgqrs::core
