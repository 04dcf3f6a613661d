// Store: the entry point, a handle to one pgqrs database.
//
// A Store is cheap to copy; copies share one connection pool and one backend. All methods
// are thread-safe. The backend is chosen by the DSN scheme (postgresql://, sqlite://,
// turso://, s3://); asking for one that was not built is a ConfigError.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pgqrs/clock.h"
#include "pgqrs/config.h"
#include "pgqrs/records.h"

namespace pgqrs {

struct StoreAccess;  // the engine's access to a Store's shared state (src/core); not for users

class Producer;
class Consumer;

class Store {
 public:
  // Creates queue `name`; QueueAlreadyExistsError if it exists.
  QueueInfo queue(std::string_view name) const;
  // The same with flow-control options (Admin::create_queue).
  QueueInfo queue(std::string_view name, const QueueOptions& options) const;
  // A producer / consumer worker for `queue` with a generated name "<hostname>-<uuid>".
  Producer producer(std::string_view queue) const;
  Consumer consumer(std::string_view queue) const;

  const Config& config() const;
  // "sqlite", "postgres", "turso" or "s3".
  std::string_view backend_name() const;
  const Clock& clock() const;

  // Opaque: the engine's state shared by the copies of a Store.
  class State;

 private:
  friend struct StoreAccess;
  explicit Store(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// Opens a store for `dsn` with defaults and PGQRS_* environment applied (Config::load, with
// the dsn replaced). Does not install the schema (see Admin::install).
Store connect(std::string_view dsn);
// Opens a store for a complete config. `clock` defaults to SystemClock; tests pass a
// ManualClock.
Store connect_with_config(const Config& config, std::shared_ptr<const Clock> clock = nullptr);

}  // namespace pgqrs
