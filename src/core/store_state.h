// Shared state behind Store and worker handles (internal).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backend/backend.h"
#include "core/rate_limiter.h"
#include "pgqrs/clock.h"
#include "pgqrs/config.h"
#include "pgqrs/records.h"

namespace pgqrs::detail {

// Everything one Store (and its copies) shares. Thread-safe.
struct StoreState {
  Config config;
  std::shared_ptr<const Clock> clock;
  std::unique_ptr<backend::Backend> backend;
  core::RateLimiter limiter;

  // Ephemeral consumers used by one-shot calls without .worker(): queue name -> worker id.
  std::mutex ephemeral_mu;
  std::map<std::string, std::int64_t> ephemeral_consumers;

  StoreState(Config cfg, std::shared_ptr<const Clock> clk,
             std::unique_ptr<backend::Backend> be);
  // Stops the ephemeral consumers (best effort, never throws).
  ~StoreState();

  TimePoint now() const { return clock->now(); }
};

// One worker handle's shared state (copies of a Producer/Consumer share it).
struct WorkerState {
  std::shared_ptr<StoreState> store;
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
