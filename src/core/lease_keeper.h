// LeaseKeeper: a background thread that, while a handler runs, keeps the leases of the
// in-flight messages alive (vt = now + lease, every lease/3) and sends the worker's
// heartbeat every heartbeat interval. Both periods are measured on the store's Clock (a
// ManualClock drives them). Started by a poll loop or a one-shot handler call and stopped
// (joined, bounded by one storage call) when it ends.
//
// Lease validity (decision H9): the keeper knows, per tracked message, until when its lease
// is CONFIRMED: the vt the lease was taken with, then now + lease after each renewal the
// database accepted (`now` read before the call was sent). A renewal that stalls, fails or
// is refused confirms nothing, so as engine time passes the confirmed end while the network
// is dead, valid() turns false. The engine starts no handler on a message whose lease is not
// valid, since another consumer may already hold it. valid_until() is the confirmed end
// minus a safety margin of lease/10 (clock skew between machines, the time between the check
// and the handler's work).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
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

  // The messages whose leases to keep (replaces the previous set), with the lease end each
  // was leased with (their vt). Thread-safe.
  void track(const std::vector<std::int64_t>& ids, const std::vector<TimePoint>& lease_ends);
  void clear() { track({}, {}); }
  // Until when `id`'s lease is known valid (see above); TimePoint::min() when it is not
  // tracked or was refused by the database. Thread-safe.
  TimePoint valid_until(std::int64_t id) const;
  bool valid(std::int64_t id, TimePoint now) const { return now < valid_until(id); }
  // The worker changed (the ephemeral consumer was replaced). Thread-safe.
  void set_worker(std::int64_t worker);

 private:
  void run();

  std::shared_ptr<detail::StoreState> store_;
  std::int64_t worker_;  // GUARDED_BY(mu_)
  std::chrono::seconds lease_;
  mutable std::mutex mu_;
  std::unique_ptr<Clock::Waiter> waiter_;
  // Planned when the keeper is made, not when its thread first runs: a clock move in between
  // must count.
  TimePoint first_heartbeat_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> replan_{false};    // set by track() when the thread must re-plan
  std::vector<std::int64_t> tracked_;  // GUARDED_BY(mu_)
  // Confirmed lease end per tracked message; TimePoint::min() once refused. GUARDED_BY(mu_)
  std::unordered_map<std::int64_t, TimePoint> confirmed_;
  TimePoint tracked_since_;  // GUARDED_BY(mu_)
  // When the thread will next look at its work (it waits until then). track() wakes it
  // only when the new set needs attention sooner, so a poll loop does not pay two thread
  // wake-ups per batch. GUARDED_BY(mu_)
  TimePoint planned_wake_;
  Duration extend_every_;
  std::thread thread_;
};

}  // namespace pgqrs::core
