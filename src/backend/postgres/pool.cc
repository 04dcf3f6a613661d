#include "backend/postgres/pool.h"

#include <libpq-fe.h>

#include <algorithm>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::pg {

Pool::Pool(const ConnectOptions& options, std::size_t max_size)
    : options_(options), max_size_(std::max<std::size_t>(1, max_size)) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (pool_ != nullptr && conn_) pool_->give_back(std::move(conn_), broken_);
}

std::size_t Pool::open_count() const {
  std::lock_guard lock(mu_);
  return open_count_;
}

void Pool::drop_idle() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard lock(mu_);
    closing.swap(idle_);
    open_count_ -= closing.size();
  }
  cv_.notify_all();
}

Pool::Lease Pool::acquire(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (conn->usable()) return Lease(this, std::move(conn));
      conn.reset();  // closed by the server while idle: replace it
      lock.lock();
      --open_count_;
    }
    if (open_count_ < max_size_) {
      ++open_count_;
      lock.unlock();
      try {
        return Lease(this, Connection::open(options_, deadline));
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
      throw TimeoutError("postgres: no free connection in the pool (max_connections = " +
                         std::to_string(max_size_) +
                         ") within connection_timeout_seconds; raise max_connections or hold "
                         "fewer connections at once");
    }
  }
}

void Pool::give_back(std::unique_ptr<Connection> conn, bool broken) noexcept {
  bool keep = !broken && PQstatus(conn->get()) == CONNECTION_OK;
  if (keep && PQtransactionStatus(conn->get()) != PQTRANS_IDLE) {
    // Left inside a transaction (an operation ended by an exception): roll it back, or
    // close the connection if that fails.
    try {
      conn->exec_simple("ROLLBACK");
      keep = PQtransactionStatus(conn->get()) == PQTRANS_IDLE;
    } catch (...) {
      keep = false;
    }
  }
  if (keep) {
    conn->drain_notifications();
  } else {
    conn.reset();
  }
  {
    std::lock_guard lock(mu_);
    if (keep) {
      idle_.push_back(std::move(conn));
    } else {
      --open_count_;
    }
  }
  cv_.notify_one();
}

}  // namespace pgqrs::pg
