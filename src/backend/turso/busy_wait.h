// BusyWait: how the Turso driver waits for a lock another connection holds (decision G8).
//
// The engine's own busy handler (turso_connection_set_busy_timeout_ms) backs off as SQLite's
// default one does, 1, 2, 5 … 100 ms between tries, but with synchronous I/O it waits by
// spinning on the clock: a connection that met a lock burned a core and retried at most every
// 100 ms, so a consumer sharing the file with a producer that commits every millisecond
// could wait hundreds of milliseconds for a lock that was free 85 % of the time. So the
// engine's busy timeout is 0 (it reports TURSO_BUSY at once, leaving the statement where it
// can be stepped again, as its own handler does after a wait) and the driver sleeps instead:
// 50 µs doubling up to 1 ms between tries, for at most the connection's busy timeout.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace pgqrs::turso {

class BusyWait {
 public:
  static constexpr std::chrono::microseconds kFirstSleep{50};
  static constexpr std::chrono::microseconds kLongestSleep{1000};

  explicit BusyWait(std::chrono::milliseconds limit) : limit_(limit) {}

  // Called after a TURSO_BUSY: sleeps and returns true, or returns false once `limit` has
  // passed since the first call (then the caller reports the lock).
  bool again() {
    const auto now = std::chrono::steady_clock::now();
    if (!started_) {
      started_ = true;
      deadline_ = now + limit_;
    }
    if (now >= deadline_) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(sleep_, deadline_ - now));
    sleep_ = std::min(sleep_ * 2, kLongestSleep);
    return true;
  }

 private:
  std::chrono::milliseconds limit_;
  std::chrono::microseconds sleep_ = kFirstSleep;
  bool started_ = false;
  std::chrono::steady_clock::time_point deadline_{};
};

}  // namespace pgqrs::turso
