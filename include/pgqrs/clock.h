// Time source used by the engine for every "now" (leases, delays, heartbeats, retries).
//
// Production code uses SystemClock (the default). Tests inject a ManualClock and move time
// by hand, so lease expiry and delays are tested without sleeping. A Clock must be safe to
// call from several threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

namespace pgqrs {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// Wall-clock time (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = std::chrono::system_clock::now())
      : micros_(to_micros(start)) {}
  TimePoint now() const override {
    return TimePoint(std::chrono::microseconds(micros_.load(std::memory_order_acquire)));
  }
  void set(TimePoint t) { micros_.store(to_micros(t), std::memory_order_release); }
  void advance(Duration d) {
    micros_.fetch_add(std::chrono::duration_cast<std::chrono::microseconds>(d).count(),
                      std::memory_order_acq_rel);
  }

 private:
  static long long to_micros(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  std::atomic<long long> micros_;
};

}  // namespace pgqrs
