// A bounded pool of Sessions (connections with their statement caches).
//
// Connections are opened lazily, up to max_size, and kept open for the pool's lifetime:
// reusing them keeps their prepared statements warm. acquire() waits until a connection is
// free, at most until the deadline, then throws TimeoutError ("no free connection ...").
// The mutex here only guards the pool's own bookkeeping; it is not what makes queue
// operations correct across threads or processes (the database's locks do that).
//
// Thread-safe. Every Lease must be destroyed before the pool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/sqlite_family/session.h"

namespace pgqrs::sqlite_family {

class ConnectionPool {
 public:
  using Opener = std::function<std::unique_ptr<Session>()>;

  // `name` is used in error messages (e.g. "sqlite").
  ConnectionPool(Opener open, std::size_t max_size, std::string name);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Exclusive use of one Session until destroyed, then it goes back to the pool.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), session_(std::move(other.session_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Session& operator*() const { return *session_; }
    Session* operator->() const { return session_.get(); }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<Session> session)
        : pool_(pool), session_(std::move(session)) {}
    ConnectionPool* pool_;
    std::unique_ptr<Session> session_;
  };

  // A free Session, opening a new connection if fewer than max_size exist. Errors from
  // opening propagate (the slot is given back). TimeoutError once `deadline` passes.
  Lease acquire(std::chrono::steady_clock::time_point deadline);

  std::size_t max_size() const { return max_size_; }
  std::size_t open_count() const;

 private:
  void give_back(std::unique_ptr<Session> session) noexcept;

  const Opener open_;
  const std::size_t max_size_;
  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Session>> idle_;  // GUARDED_BY(mu_)
  std::size_t open_count_ = 0;                  // GUARDED_BY(mu_), idle + leased + opening
};

}  // namespace pgqrs::sqlite_family
