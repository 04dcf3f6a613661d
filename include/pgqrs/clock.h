// Engine time: every "now" and every wait of the engine (leases, delays, heartbeats, retries,
// poll back-off and `until`, durable sleeps, Run result(timeout)).
//
// Production code uses SystemClock (the default). Tests inject a ManualClock and move time by
// hand: a thread of the engine blocked until time T wakes as soon as the test moves the clock
// to T or later, so lease expiry and renewal, heartbeats, back-off and timeouts are tested
// without sleeping.
//
// Not engine time: I/O timeouts inside the backends (SQLite busy retry, libpq connect, S3 HTTP
// requests and their retries) and the short pause before retrying a transient storage error
// stay on std::chrono::steady_clock -- they measure how long the machine takes, not the
// schedule the engine keeps.
//
// Thread-safety: every member of Clock, SystemClock, ManualClock and Clock::Waiter may be
// called from several threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace pgqrs {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  // A condition variable whose timeouts are measured on the clock that made it.
  //
  // wait_until(deadline, pred) blocks the calling thread until pred() returns true or the
  // clock reads >= deadline, and returns pred()'s last value (true: woken by the condition;
  // false: the deadline passed first). pred is evaluated with the waiter's internal lock held,
  // before blocking and after every wake-up; it must be quick, must not throw and must not
  // call back into this waiter. Wake-ups may be spurious: pred is simply evaluated again.
  // wait_until may also return false before the deadline: a ManualClock waiter does so at
  // once when the clock was moved since that waiter's previous wait, so a caller that reads
  // now(), works, then waits never misses a move made while it worked. Callers therefore
  // treat any return as "re-check the time" (they loop).
  //
  // notify() wakes every thread blocked in wait_until on this waiter so that it re-evaluates
  // pred (interrupt, stop, "new work" wake-ups). A notify() with no thread blocked is not
  // remembered: change the state pred reads first (e.g. an atomic flag), then notify() -- a
  // waiter that evaluates pred afterwards sees the change, one that is blocked is woken.
  //
  // Several threads may wait on one waiter at once. A waiter may outlive the Clock object
  // that made it (it shares what it needs of it).
  class Waiter {
   public:
    virtual ~Waiter() = default;
    virtual bool wait_until(TimePoint deadline, const std::function<bool()>& pred) = 0;
    virtual void notify() = 0;
  };

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // A new waiter on this clock. The default converts each deadline into a steady_clock
  // deadline from the difference deadline - now() (re-measured after every wake-up), which
  // suits any clock that moves with real time.
  virtual std::unique_ptr<Waiter> make_waiter() const;
};

// Wall-clock time (std::chrono::system_clock). Waits are condition-variable waits on a
// steady_clock deadline computed from the system-time difference, so a system clock step
// neither ends a wait early nor stretches it by more than the step.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to. It never moves by itself: whatever the engine does
// because time passed (poll back-off, `until`, heartbeats, lease extension, worker status
// re-checks, result(timeout)) happens when the test calls advance() or set(); whatever it does
// because something happened (an enqueue on the same Store, a Postgres NOTIFY, a stop
// request, interrupt()) happens at once. advance()/set() wake every thread waiting on this
// clock whose deadline has been reached.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = std::chrono::system_clock::now());
  ~ManualClock() override;
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  TimePoint now() const override;
  std::unique_ptr<Waiter> make_waiter() const override;
  // Moves the clock to `t` (backwards too) and wakes the waiters so they re-check.
  void set(TimePoint t);
  // Moves the clock forward by `d` and wakes the waiters so they re-check.
  void advance(Duration d);
  // The number of threads blocked in a wait on this clock right now. A test aid: wait (in
  // real time) until the engine's threads are idle before moving time, e.g. until a poll loop
  // has computed its `until` deadline.
  std::size_t waiting() const;

  struct Shared;  // internal: the time and the live waiters, shared with the waiters

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace pgqrs
