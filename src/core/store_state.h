// Shared state behind Store and worker handles (internal).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "core/activity_hub.h"
#include "core/rate_limiter.h"
#include "pgqrs/clock.h"
#include "pgqrs/config.h"
#include "pgqrs/records.h"
#include "pgqrs/store.h"

namespace pgqrs::detail {

// Everything one Store (and its copies) shares. Thread-safe.
struct StoreState {
  Config config;
  backend::Dsn dsn;  // config.dsn, parsed once by connect_with_config
  std::shared_ptr<const Clock> clock;
  std::unique_ptr<backend::Backend> backend;
  core::RateLimiter limiter;
  core::ActivityHub activity;  // wakes this store's idle pollers after its own enqueues

  // The store's ephemeral consumer for `queue`, used by one-shot calls without .worker():
  // registered on first use, reused afterwards (so worker rows do not grow with calls),
  // heartbeated at most once per heartbeat interval, stopped when the store goes away.
  std::int64_t ephemeral_consumer(const std::string& queue);
  // The ephemeral consumer `stale` turned out stopped or deleted (e.g. reclaimed as a zombie
  // by an admin): forget it and register a fresh one. Returns the new id.
  std::int64_t replace_ephemeral_consumer(const std::string& queue, std::int64_t stale);

  StoreState(Config cfg, backend::Dsn parsed, std::shared_ptr<const Clock> clk,
             std::unique_ptr<backend::Backend> be);
  // Stops the ephemeral consumers (best effort, never throws).
  ~StoreState();

  TimePoint now() const { return clock->now(); }

 private:
  struct Ephemeral {
    std::int64_t id = 0;
    std::chrono::steady_clock::time_point last_heartbeat;
  };
  std::int64_t ephemeral_consumer_locked(const std::string& queue);
  std::mutex ephemeral_mu_;
  std::map<std::string, Ephemeral> ephemeral_;  // GUARDED_BY(ephemeral_mu_)
};

// One worker handle's shared state (copies of a Producer/Consumer share it).
struct WorkerState {
  std::shared_ptr<StoreState> store;
  Store handle{nullptr};  // the same store, as the public handle
  std::int64_t id = 0;
  std::string name;
  std::string queue;
  std::int64_t queue_id = 0;
  WorkerKind kind = WorkerKind::kConsumer;

  // In-process wake-up for a poll loop of this worker (set by interrupt()).
  std::mutex mu;
  std::condition_variable cv;
  bool interrupt_requested = false;
};

}  // namespace pgqrs::detail
