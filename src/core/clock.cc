// Clock waiters: the real-time one (any clock that moves with real time) and ManualClock's,
// which only time set by hand (or notify()) wakes. Contracts in include/pgqrs/clock.h.
#include "pgqrs/clock.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

namespace pgqrs {
namespace {

long long to_micros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// Waits on a steady_clock deadline derived from `deadline - clock.now()`, re-derived after
// every wake-up so that the wait follows the clock. Long waits are cut into slices so that
// TimePoint::max() and other far deadlines cannot overflow steady_clock.
class RealTimeWaiter final : public Clock::Waiter {
 public:
  explicit RealTimeWaiter(const Clock& clock) : clock_(clock) {}

  bool wait_until(TimePoint deadline, const std::function<bool()>& pred) override {
    constexpr auto kSlice = std::chrono::hours(24);
    std::unique_lock lock(mu_);
    while (!pred()) {
      const auto now = clock_.now();
      if (now >= deadline) return false;
      const auto left = std::min<Duration>(deadline - now, kSlice);
      cv_.wait_for(lock, left);
    }
    return true;
  }

  void notify() override {
    { std::lock_guard lock(mu_); }  // a waiter between pred() and blocking is not missed
    cv_.notify_all();
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace

std::unique_ptr<Clock::Waiter> Clock::make_waiter() const {
  return std::make_unique<RealTimeWaiter>(*this);
}

// ---- ManualClock ---------------------------------------------------------------------------

class ManualWaiter;

struct ManualClock::Shared {
  std::atomic<long long> micros{0};
  std::atomic<std::size_t> blocked{0};  // threads inside a wait right now
  std::atomic<std::uint64_t> moves{0};  // advance()/set() calls so far
  std::mutex mu;
  std::set<ManualWaiter*> waiters;  // GUARDED_BY(mu)

  TimePoint now() const {
    return TimePoint(std::chrono::microseconds(micros.load(std::memory_order_acquire)));
  }
  void wake_all();
};

// Blocks without a timeout: only ManualClock::advance/set (via Shared::wake_all) and notify()
// wake it, after which it re-checks pred and the deadline. A move made while no wait of this
// waiter was running (the caller was busy) ends the next wait at once, so it is never lost.
class ManualWaiter final : public Clock::Waiter {
 public:
  explicit ManualWaiter(std::shared_ptr<ManualClock::Shared> shared)
      : shared_(std::move(shared)), seen_moves_(shared_->moves.load(std::memory_order_acquire)) {
    std::lock_guard lock(shared_->mu);
    shared_->waiters.insert(this);
  }
  ~ManualWaiter() override {
    std::lock_guard lock(shared_->mu);
    shared_->waiters.erase(this);
  }
  ManualWaiter(const ManualWaiter&) = delete;
  ManualWaiter& operator=(const ManualWaiter&) = delete;

  bool wait_until(TimePoint deadline, const std::function<bool()>& pred) override {
    std::unique_lock lock(mu_);
    const auto moves = shared_->moves.load(std::memory_order_acquire);
    if (moves != seen_moves_) {  // moved while the caller was busy: let it re-check the time
      seen_moves_ = moves;
      return pred();
    }
    while (!pred()) {
      if (shared_->now() >= deadline) return false;
      shared_->blocked.fetch_add(1, std::memory_order_acq_rel);
      cv_.wait(lock);
      shared_->blocked.fetch_sub(1, std::memory_order_acq_rel);
      seen_moves_ = shared_->moves.load(std::memory_order_acquire);
    }
    return true;
  }

  void notify() override {
    { std::lock_guard lock(mu_); }  // a waiter between its checks and blocking is not missed
    cv_.notify_all();
  }

 private:
  std::shared_ptr<ManualClock::Shared> shared_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t seen_moves_;  // GUARDED_BY(mu_): the moves the last wait accounted for
};

void ManualClock::Shared::wake_all() {
  // The time is already stored: a waiter that checks it after this point sees it, and one
  // already blocked is woken (notify() takes its lock first).
  std::lock_guard lock(mu);
  for (ManualWaiter* w : waiters) w->notify();
}

ManualClock::ManualClock(TimePoint start) : shared_(std::make_shared<Shared>()) {
  shared_->micros.store(to_micros(start), std::memory_order_release);
}

ManualClock::~ManualClock() = default;

TimePoint ManualClock::now() const { return shared_->now(); }

std::unique_ptr<Clock::Waiter> ManualClock::make_waiter() const {
  return std::make_unique<ManualWaiter>(shared_);
}

void ManualClock::set(TimePoint t) {
  shared_->micros.store(to_micros(t), std::memory_order_release);
  shared_->moves.fetch_add(1, std::memory_order_acq_rel);
  shared_->wake_all();
}

void ManualClock::advance(Duration d) {
  shared_->micros.fetch_add(std::chrono::duration_cast<std::chrono::microseconds>(d).count(),
                            std::memory_order_acq_rel);
  shared_->moves.fetch_add(1, std::memory_order_acq_rel);
  shared_->wake_all();
}

std::size_t ManualClock::waiting() const {
  return shared_->blocked.load(std::memory_order_acquire);
}

}  // namespace pgqrs
