#include "core/lease_keeper.h"

#include <algorithm>

namespace pgqrs::core {

LeaseKeeper::LeaseKeeper(std::shared_ptr<detail::StoreState> store, std::int64_t worker,
                         std::chrono::seconds lease)
    : store_(std::move(store)),
      worker_(worker),
      lease_(lease),
      planned_wake_(std::chrono::steady_clock::time_point::min()),
      extend_every_(std::max<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(100), std::chrono::milliseconds(lease_) / 3)) {
  thread_ = std::thread([this] { run(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LeaseKeeper::track(std::vector<std::int64_t> ids) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    tracked_ = std::move(ids);
    tracked_since_ = std::chrono::steady_clock::now();
    // The thread may be asleep until after this set's first extension is due (e.g. until
    // the next heartbeat): then it must re-plan. Clearing never needs it sooner.
    wake = !tracked_.empty() && tracked_since_ + extend_every_ < planned_wake_;
  }
  if (wake) cv_.notify_all();
}

void LeaseKeeper::set_worker(std::int64_t worker) {
  std::lock_guard lock(mu_);
  worker_ = worker;
}

void LeaseKeeper::run() {
  using namespace std::chrono;
  const auto extend_every = extend_every_;
  const auto heartbeat_every = seconds(store_->config.heartbeat_interval_seconds);
  auto next_heartbeat = steady_clock::now() + heartbeat_every;
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = steady_clock::now();
    // Extend when the tracked set has been held for a third of the lease.
    auto next_extend =
        tracked_.empty() ? steady_clock::time_point::max() : tracked_since_ + extend_every;
    if (!tracked_.empty() && now >= next_extend) {
      auto ids = tracked_;
      const auto worker = worker_;
      tracked_since_ = now;
      lock.unlock();
      try {
        const auto t = store_->now();
        store_->backend->set_lease(ids, worker, t + lease_, t);
      } catch (...) {
        // A failed extension is retried next round; the lease may lapse and the message be
        // redelivered, which the at-least-once contract allows.
      }
      lock.lock();
      continue;
    }
    if (now >= next_heartbeat) {
      next_heartbeat = now + heartbeat_every;
      const auto worker = worker_;
      lock.unlock();
      try {
        store_->backend->heartbeat(worker, store_->now());
      } catch (...) {
        // Next heartbeat retries; a missed one only ages heartbeat_at.
      }
      lock.lock();
      continue;
    }
    planned_wake_ = std::min(next_extend, next_heartbeat);
    cv_.wait_until(lock, planned_wake_);
    planned_wake_ = steady_clock::time_point::min();  // awake: track() need not wake it
  }
}

}  // namespace pgqrs::core
