#include "backend/sqlite_family/pool.h"

#include <algorithm>
#include <utility>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {

ConnectionPool::ConnectionPool(Opener open, std::size_t max_size, std::string name)
    : open_(std::move(open)),
      max_size_(std::max<std::size_t>(max_size, 1)),
      name_(std::move(name)) {
  idle_.reserve(max_size_);  // so give_back() never allocates
}

ConnectionPool::Lease::~Lease() {
  if (session_) pool_->give_back(std::move(session_));
}

ConnectionPool::Lease ConnectionPool::acquire(std::chrono::steady_clock::time_point deadline) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  const bool ready =
      cv_.wait_until(lock, deadline, [&] { return !idle_.empty() || open_count_ < max_size_; });
  if (!ready) {
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    throw TimeoutError("no free connection in the " + name_ + " pool: all " +
                       std::to_string(max_size_) + " connections stayed in use for " +
                       std::to_string(waited.count()) +
                       " ms (raise max_connections or connection_timeout_seconds)");
  }
  if (!idle_.empty()) {
    // LIFO: the most recently used connection has the warmest caches.
    auto session = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(session));
  }
  ++open_count_;
  lock.unlock();  // opening touches the file system; do not block other acquirers
  try {
    return Lease(this, open_());
  } catch (...) {
    lock.lock();
    --open_count_;
    lock.unlock();
    cv_.notify_one();
    throw;
  }
}

std::size_t ConnectionPool::open_count() const {
  std::lock_guard lock(mu_);
  return open_count_;
}

void ConnectionPool::give_back(std::unique_ptr<Session> session) noexcept {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(session));
  }
  cv_.notify_one();
}

}  // namespace pgqrs::sqlite_family
