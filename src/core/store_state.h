// Shared state behind Store and worker handles (internal).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "core/activity_hub.h"
#include "core/maintenance.h"
#include "core/rate_limiter.h"
#include "core/tracer.h"
#include "pgqrs/clock.h"
#include "pgqrs/config.h"
#include "pgqrs/records.h"
#include "pgqrs/store.h"
#include "pgqrs/worker.h"

namespace pgqrs {

// Everything one Store (and its copies) shares. Thread-safe. Opaque to users (pgqrs/store.h
// declares it); the engine names it detail::StoreState and reaches it through StoreAccess.
class Store::State {
 public:
  Config config;
  backend::Dsn dsn;  // config.dsn, parsed once by connect_with_config
  std::shared_ptr<const Clock> clock;
  std::unique_ptr<backend::Backend> backend;
  core::RateLimiter limiter;
  core::ActivityHub activity;          // wakes this store's idle pollers after its own enqueues
  core::MaintenanceTimer maintenance;  // schedules and auto prune from poll loops
  core::Tracer tracer;                 // the installed TraceHook, if any (pgqrs/tracing.h)

  // The store's ephemeral consumer for `queue`, used by one-shot calls without .worker():
  // registered on first use, reused afterwards (so worker rows do not grow with calls),
  // heartbeated at most once per heartbeat interval (on the clock), stopped when the store
  // goes away.
  std::int64_t ephemeral_consumer(const std::string& queue);
  // The ephemeral consumer `stale` turned out stopped or deleted (e.g. reclaimed as a zombie
  // by an admin): forget it and register a fresh one. Returns the new id.
  std::int64_t replace_ephemeral_consumer(const std::string& queue, std::int64_t stale);

  State(Config cfg, backend::Dsn parsed, std::shared_ptr<const Clock> clk,
        std::unique_ptr<backend::Backend> be);
  // Stops the ephemeral consumers (best effort, never throws).
  ~State();

  TimePoint now() const { return clock->now(); }

 private:
  struct Ephemeral {
    std::int64_t id = 0;
    TimePoint last_heartbeat;
  };
  std::int64_t ephemeral_consumer_locked(const std::string& queue);
  std::mutex ephemeral_mu_;
  std::map<std::string, Ephemeral> ephemeral_;  // GUARDED_BY(ephemeral_mu_)
};

// The engine's access to a Store: its state, and a Store for a state (a null one for a
// handle filled in later).
struct StoreAccess {
  static const std::shared_ptr<Store::State>& state(const Store& store) { return store.state_; }
  static Store make(std::shared_ptr<Store::State> state) { return Store(std::move(state)); }
};

// One worker handle's shared state (copies of a Producer/Consumer share it); opaque to users
// (pgqrs/worker.h), detail::WorkerState to the engine.
class Worker::State {
 public:
  std::shared_ptr<Store::State> store;
  Store handle = StoreAccess::make(nullptr);  // the same store, as the public handle
  std::int64_t id = 0;
  std::string name;
  std::string queue;
  std::int64_t queue_id = 0;
  WorkerKind kind = WorkerKind::kConsumer;

  // In-process wake-up for the poll loops of this worker: interrupt() sets the flag, then
  // notifies the waiter (made by the store's clock) they idle on.
  std::unique_ptr<Clock::Waiter> waiter;
  std::atomic<bool> interrupt_requested{false};
};

struct WorkerAccess {
  static const std::shared_ptr<Worker::State>& state(const Worker& worker) { return worker.state_; }
};

namespace detail {
using StoreState = Store::State;
using WorkerState = Worker::State;
}  // namespace detail
}  // namespace pgqrs
