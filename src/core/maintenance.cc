// Maintenance from poll loops, and the Scheduler handle (pgqrs/schedule.h).
#include "core/maintenance.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "core/store_state.h"
#include "pgqrs/retention.h"
#include "pgqrs/schedule.h"

namespace pgqrs::core {
namespace {

constexpr std::chrono::seconds kScheduleCheckInterval{1};

std::int64_t micros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// True for the one caller that moves `next` from a due value to now + interval.
bool claim(std::atomic<std::int64_t>& next, TimePoint now, Duration interval) {
  std::int64_t due = next.load(std::memory_order_relaxed);
  if (micros(now) < due) return false;
  return next.compare_exchange_strong(due, micros(now + interval));
}

}  // namespace

void run_maintenance(const std::shared_ptr<Store::State>& state) noexcept {
  const TimePoint now = state->now();
  const Store store = StoreAccess::make(state);
  if (claim(state->maintenance.next_schedule_check_us, now, kScheduleCheckInterval)) {
    try {
      fire_due(store);
    } catch (...) {  // retried at the next check
    }
  }
  if (claim(state->maintenance.next_prune_us, now, kAutoPruneInterval)) {
    try {
      PruneOptions o;  // finished runs of workflows with a retain_finished
      prune(store, o);
    } catch (...) {  // retried at the next interval
    }
  }
}

}  // namespace pgqrs::core

namespace pgqrs {

struct Scheduler::Impl {
  Impl(Store s, Duration i)
      : store(std::move(s)), interval(i), waiter(store.clock().make_waiter()) {}
  Store store;
  Duration interval;
  std::unique_ptr<Clock::Waiter> waiter;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> fired{0};
  std::thread thread;

  void run() {
    TimePoint next_prune = store.clock().now();
    while (!stopping.load()) {
      const TimePoint now = store.clock().now();
      try {
        fired += core::fire_due(store);
      } catch (...) {  // retried at the next check
      }
      if (now >= next_prune) {
        next_prune = now + kAutoPruneInterval;
        try {
          prune(store, PruneOptions{});
        } catch (...) {
        }
      }
      const TimePoint until = now + interval;
      while (!stopping.load() && store.clock().now() < until) {
        waiter->wait_until(until, [this] { return stopping.load(); });
      }
    }
  }
};

Scheduler::Scheduler(Store store, Duration check_interval)
    : impl_(std::make_unique<Impl>(std::move(store), check_interval)) {
  if (check_interval <= Duration::zero()) {
    throw ValidationError("check_interval: must be positive");
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->waiter->notify();
  impl_->thread.join();
}

std::size_t Scheduler::fired() const { return impl_->fired.load(); }

}  // namespace pgqrs
