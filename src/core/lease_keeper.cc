#include "core/lease_keeper.h"

#include <algorithm>

namespace pgqrs::core {
namespace {
// Immediate attempts of a lease extension refused by a concurrent writer (H20).
constexpr int kConflictAttempts = 5;
}  // namespace

LeaseKeeper::LeaseKeeper(std::shared_ptr<detail::StoreState> store, std::int64_t worker,
                         std::chrono::seconds lease)
    : store_(std::move(store)),
      worker_(worker),
      lease_(lease),
      waiter_(store_->clock->make_waiter()),
      first_heartbeat_(store_->now() +
                       std::chrono::seconds(store_->config.heartbeat_interval_seconds)),
      planned_wake_(TimePoint::min()),
      extend_every_(std::max<Duration>(std::chrono::milliseconds(100),
                                       std::chrono::milliseconds(lease_) / 3)) {
  thread_ = std::thread([this] { run(); });
}

LeaseKeeper::~LeaseKeeper() {
  stop_.store(true);
  waiter_->notify();
  thread_.join();
}

void LeaseKeeper::track(const std::vector<std::int64_t>& ids,
                        const std::vector<TimePoint>& lease_ends) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    tracked_ = ids;
    confirmed_.clear();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      confirmed_[ids[i]] = i < lease_ends.size() ? lease_ends[i] : TimePoint::min();
    }
    tracked_since_ = store_->now();
    // The thread may be asleep until after this set's first extension is due (e.g. until
    // the next heartbeat): then it must re-plan. Clearing never needs it sooner.
    wake = !tracked_.empty() && tracked_since_ + extend_every_ < planned_wake_;
    if (wake) replan_.store(true);
  }
  if (wake) waiter_->notify();
}

TimePoint LeaseKeeper::valid_until(std::int64_t id) const {
  std::lock_guard lock(mu_);
  const auto it = confirmed_.find(id);
  if (it == confirmed_.end() || it->second == TimePoint::min()) return TimePoint::min();
  return it->second - std::chrono::milliseconds(lease_) / 10;
}

void LeaseKeeper::set_worker(std::int64_t worker) {
  std::lock_guard lock(mu_);
  worker_ = worker;
}

void LeaseKeeper::run() {
  const auto extend_every = extend_every_;
  const Duration heartbeat_every = std::chrono::seconds(store_->config.heartbeat_interval_seconds);
  auto next_heartbeat = first_heartbeat_;
  std::unique_lock lock(mu_);
  while (!stop_.load()) {
    const auto now = store_->now();
    // Extend when the tracked set has been held for a third of the lease.
    auto next_extend = tracked_.empty() ? TimePoint::max() : tracked_since_ + extend_every;
    if (!tracked_.empty() && now >= next_extend) {
      auto ids = tracked_;
      const auto worker = worker_;
      tracked_since_ = now;
      lock.unlock();
      // A write refused by a concurrent writer (S3, H20) refreshed the store's copy: it is
      // tried again at once, a few times, so contention alone does not let a lease lapse.
      // A failed extension confirms nothing: the lease may lapse (valid() turns false) and
      // the message be redelivered, which the at-least-once contract allows.
      std::vector<bool> renewed;
      for (int attempt = 1; attempt <= kConflictAttempts; ++attempt) {
        try {
          renewed = store_->backend->set_lease(ids, worker, now + lease_, now);
          break;
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kConflict || !e.retryable()) break;
        } catch (...) {
          break;
        }
      }
      lock.lock();
      if (tracked_ == ids) {  // still the same set (track() may have replaced it meanwhile)
        for (std::size_t i = 0; i < renewed.size() && i < ids.size(); ++i) {
          TimePoint& end = confirmed_[ids[i]];
          // Refused: another consumer holds it, or it is gone. Never valid again.
          end = renewed[i] && end != TimePoint::min() ? std::max(end, now + lease_)
                                                      : TimePoint::min();
        }
      }
      continue;
    }
    if (now >= next_heartbeat) {
      next_heartbeat = now + heartbeat_every;
      const auto worker = worker_;
      lock.unlock();
      try {
        store_->backend->heartbeat(worker, now);
      } catch (...) {
        // Next heartbeat retries; a missed one only ages heartbeat_at.
      }
      lock.lock();
      continue;
    }
    planned_wake_ = std::min(next_extend, next_heartbeat);
    const auto wake_at = planned_wake_;
    lock.unlock();
    waiter_->wait_until(wake_at, [this] { return stop_.load() || replan_.load(); });
    lock.lock();
    replan_.store(false);
    planned_wake_ = TimePoint::min();  // awake: track() need not wake it
  }
}

}  // namespace pgqrs::core
