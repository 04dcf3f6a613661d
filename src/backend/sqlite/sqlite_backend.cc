#include "backend/sqlite/sqlite_backend.h"

#include <utility>

#include "backend/sqlite/sqlite_driver.h"
#include "backend/sqlite_family/lock_wait.h"
#include "backend/sqlite_family/sql_backend.h"

namespace pgqrs::backend {

std::unique_ptr<sqlite_family::Driver> make_sqlite_driver(const Config& config,
                                                          const std::string& path) {
  sqlite::SqliteOptions options;
  options.path = path;
  options.use_wal = config.sqlite.use_wal;
  options.busy_timeout = sqlite_family::statement_lock_wait(config);
  return std::make_unique<sqlite::SqliteDriver>(std::move(options));
}

std::unique_ptr<Backend> make_sqlite_backend(const Config& config, const Dsn& dsn) {
  Config effective = config;
  if (dsn.in_memory()) {
    // Every connection to ":memory:" opens its own, separate, empty database. The whole
    // backend must therefore share exactly one connection, so the pool has size 1 (callers
    // on other threads wait for it; SQLite serialises them anyway).
    effective.max_connections = 1;
  }
  return std::make_unique<sqlite_family::SqlFamilyBackend>(make_sqlite_driver(config, dsn.path()),
                                                           effective);
}

}  // namespace pgqrs::backend
