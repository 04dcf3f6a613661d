// A bounded pool of Postgres connections (config.max_connections).
//
// Connections are opened lazily, up to max_size, and kept for reuse (their prepared
// statements stay warm). acquire() hands out an idle connection after checking it is still
// usable (a connection the server closed while it sat idle is dropped silently and
// replaced), or opens a new one, or waits for one to be given back — at most until the
// deadline, then TimeoutError. A Lease returns its connection when destroyed; a connection
// that broke, or that is left inside a transaction that cannot be rolled back, is closed
// instead of being reused.
//
// Thread-safe. Every Lease must be destroyed before the pool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/postgres/connection.h"

namespace pgqrs::pg {

class Pool {
 public:
  Pool(const ConnectOptions& options, std::size_t max_size);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), conn_(std::move(other.conn_)), broken_(other.broken_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }
    // The connection must not be reused (it broke, or its state is unknown).
    void mark_broken() { broken_ = true; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
    bool broken_ = false;
  };

  // See the class comment. Connection errors from opening propagate (ConfigError /
  // ConnectionError, see Connection::open).
  Lease acquire(std::chrono::steady_clock::time_point deadline);

  std::size_t max_size() const { return max_size_; }
  std::size_t open_count() const;
  // Closes every idle connection (e.g. after the server restarted); leased ones are
  // checked when they come back.
  void drop_idle();

 private:
  void give_back(std::unique_ptr<Connection> conn, bool broken) noexcept;

  const ConnectOptions& options_;
  const std::size_t max_size_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  std::size_t open_count_ = 0;                     // GUARDED_BY(mu_): idle + leased + opening
};

}  // namespace pgqrs::pg
