#include "backend/sqlite/sqlite_backend.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "backend/sqlite/sqlite_driver.h"
#include "backend/sqlite_family/sql_backend.h"

namespace pgqrs::backend {
namespace {

using std::chrono::milliseconds;

// SQLite waits at most this long inside one statement for a lock; the SQLite family's
// executor then retries the whole transaction until connection_timeout_seconds is spent.
// A quarter of the budget (at most 5 s) leaves room for several retries with jitter.
milliseconds busy_timeout_for(const Config& config) {
  const milliseconds budget = std::chrono::seconds(config.connection_timeout_seconds);
  return std::clamp(budget / 4, milliseconds(10), milliseconds(5000));
}

}  // namespace

std::unique_ptr<Backend> make_sqlite_backend(const Config& config, const Dsn& dsn) {
  sqlite::SqliteOptions options;
  options.path = dsn.path;
  options.use_wal = config.sqlite.use_wal;
  options.busy_timeout = busy_timeout_for(config);

  Config effective = config;
  if (dsn.in_memory()) {
    // Every connection to ":memory:" opens its own, separate, empty database. The whole
    // backend must therefore share exactly one connection, so the pool has size 1 (callers
    // on other threads wait for it; SQLite serialises them anyway).
    effective.max_connections = 1;
  }
  return std::make_unique<sqlite_family::SqlFamilyBackend>(
      std::make_unique<sqlite::SqliteDriver>(std::move(options)), effective);
}

}  // namespace pgqrs::backend
