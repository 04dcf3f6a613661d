// Pool<Handle>: the one connection pool of every backend (Postgres connections, SQLite-family
// sessions, S3's curl handles). It lends each handle to one borrower at a time and keeps
// returned ones for reuse (LIFO: the most recently used has the warmest caches).
//
//  - At most `max_size` handles exist at once (idle + lent + being opened); acquire() waits
//    for one to come back, until its deadline, then throws TimeoutError ("no free connection
//    in the <name> pool ..."). kUnbounded: never waits, a new handle is opened instead.
//  - At most `max_idle` returned handles are kept; the others are closed.
//  - A Policy says how to open a handle (errors propagate, the slot is given back), whether
//    an idle one is still usable before lending it (a server may have closed it), and how to
//    ready a returned one for the next borrower (false: close it). A Lease marked broken is
//    closed on return instead.
// The mutex guards only the pool's bookkeeping; it is never held while opening, checking
// or readying a handle. Thread-safe. Every Lease must be destroyed before its pool.
//
// Handle: a movable owning pointer (std::unique_ptr<T, D>).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pgqrs/error.h"

namespace pgqrs::backend {

template <class Handle>
class Pool {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

  struct Policy {
    // Opens a new handle, taking at most until the deadline. May throw.
    std::function<Handle(Deadline)> open;
    // An idle handle about to be lent: false if it died while idle (it is replaced).
    std::function<bool(Handle&)> usable = [](Handle&) { return true; };
    // A returned handle: ready it for the next borrower; false to close it. Must not throw.
    std::function<bool(Handle&)> recycle = [](Handle&) { return true; };
  };

  // `name` is used in error messages (e.g. "sqlite", "postgres").
  Pool(Policy policy, std::size_t max_size, std::string name, std::size_t max_idle = kUnbounded)
      : policy_(std::move(policy)),
        max_size_(std::max<std::size_t>(max_size, 1)),
        max_idle_(max_idle),
        name_(std::move(name)) {}
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Exclusive use of one handle until destroyed; then it goes back to the pool.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), handle_(std::move(other.handle_)), broken_(other.broken_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (handle_) pool_->give_back(std::move(handle_), broken_);
    }
    decltype(auto) operator*() const { return *handle_; }
    auto* operator->() const { return handle_.get(); }
    auto* get() const { return handle_.get(); }
    // The handle must not be reused (it broke, or its state is unknown): closed on return.
    void mark_broken() { broken_ = true; }

   private:
    friend class Pool;
    Lease(Pool* pool, Handle handle) : pool_(pool), handle_(std::move(handle)) {}
    Pool* pool_;
    Handle handle_;
    bool broken_ = false;
  };

  // A usable idle handle, or a new one while fewer than max_size exist; otherwise waits
  // until `deadline`, then TimeoutError.
  Lease acquire(Deadline deadline = Deadline::max()) {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    for (;;) {
      while (!idle_.empty()) {
        Handle handle = std::move(idle_.back());
        idle_.pop_back();
        lock.unlock();
        if (policy_.usable(handle)) return Lease(this, std::move(handle));
        handle.reset();  // closed while idle: replace it
        lock.lock();
        --open_count_;
      }
      if (max_size_ == kUnbounded || open_count_ < max_size_) {
        ++open_count_;
        lock.unlock();  // opening may take long (network, file system); others go on
        try {
          return Lease(this, policy_.open(deadline));
        } catch (...) {
          lock.lock();
          --open_count_;
          lock.unlock();
          cv_.notify_one();
          throw;
        }
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_count_ >= max_size_) {
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        throw TimeoutError("no free connection in the " + name_ + " pool: all " +
                           std::to_string(max_size_) + " connections stayed in use for " +
                           std::to_string(waited.count()) +
                           " ms (raise max_connections or connection_timeout_seconds)");
      }
    }
  }

  std::size_t max_size() const { return max_size_; }
  std::size_t open_count() const {
    std::lock_guard lock(mu_);
    return open_count_;
  }
  // Closes every idle handle (e.g. after a server restart); lent ones are checked when they
  // come back.
  void drop_idle() {
    std::vector<Handle> closing;
    {
      std::lock_guard lock(mu_);
      closing.swap(idle_);
      open_count_ -= closing.size();
    }
    cv_.notify_all();
  }

 private:
  void give_back(Handle handle, bool broken) noexcept {
    bool keep = !broken && policy_.recycle(handle);
    {
      std::lock_guard lock(mu_);
      keep = keep && idle_.size() < max_idle_;
      if (keep) {
        idle_.push_back(std::move(handle));
      } else {
        --open_count_;
      }
    }
    if (!keep) handle.reset();  // closed outside the lock
    cv_.notify_one();
  }

  const Policy policy_;
  const std::size_t max_size_;
  const std::size_t max_idle_;
  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Handle> idle_;    // GUARDED_BY(mu_)
  std::size_t open_count_ = 0;  // GUARDED_BY(mu_): idle + lent + being opened
};

}  // namespace pgqrs::backend
