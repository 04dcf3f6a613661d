// The in-process writer queue of the SQLite-family Executor (executor.h): a recursive lock
// with a deadline, built from std::mutex + std::condition_variable (internal).
//
// Why not std::recursive_timed_mutex: libstdc++ implements its try_lock_until with
// pthread_mutex_clocklock, which GCC 12's ThreadSanitizer runtime does not intercept, so TSan
// never sees the lock and reports every unlock as "unlock of an unlocked mutex" (decision H7).
// A condition variable's timed wait (pthread_cond_clockwait) is intercepted, so this lock is
// visible to TSan with both GCC and clang.
//
// Contract: lock_until() returns true once the calling thread holds the lock (re-entrant: a
// thread that already holds it just counts one more level), false if `deadline` (steady
// clock, real time: it bounds how long a caller blocks) passes first. Every successful
// lock_until() is paired with one unlock() on the same thread. Waiters are woken in no
// particular order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace pgqrs::sqlite_family {

class WriterLock {
 public:
  bool lock_until(std::chrono::steady_clock::time_point deadline) {
    const auto me = std::this_thread::get_id();
    std::unique_lock<std::mutex> guard(mu_);
    if (depth_ > 0 && owner_ == me) {
      ++depth_;
      return true;
    }
    if (!freed_.wait_until(guard, deadline, [&] { return depth_ == 0; })) return false;
    owner_ = me;
    depth_ = 1;
    return true;
  }

  void unlock() {
    {
      std::lock_guard<std::mutex> guard(mu_);
      if (--depth_ > 0) return;
      owner_ = std::thread::id();
    }
    freed_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable freed_;
  std::thread::id owner_;  // meaningful while depth_ > 0
  int depth_ = 0;          // how many times owner_ holds the lock
};

// Holds a WriterLock for its lifetime once acquire() succeeded (RAII for the executor).
class WriterLockHold {
 public:
  explicit WriterLockHold(WriterLock& lock) : lock_(lock) {}
  WriterLockHold(const WriterLockHold&) = delete;
  WriterLockHold& operator=(const WriterLockHold&) = delete;
  ~WriterLockHold() {
    if (held_) lock_.unlock();
  }

  bool acquire(std::chrono::steady_clock::time_point deadline) {
    held_ = lock_.lock_until(deadline);
    return held_;
  }

 private:
  WriterLock& lock_;
  bool held_ = false;
};

}  // namespace pgqrs::sqlite_family
