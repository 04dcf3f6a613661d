// Factory for the SQLite backend (sqlite:// DSNs): the shared SQLite-family backend over the
// libsqlite3 driver. See docs/sqlite.md for the design.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/sqlite_family/connection.h"
#include "pgqrs/config.h"

namespace pgqrs::backend {

// Opens dsn.path (a file, created if missing, or ":memory:"). Uses config.max_connections
// (1 for ":memory:"), config.connection_timeout_seconds and config.sqlite.use_wal. Throws
// ConnectionError naming the path when the file cannot be opened or is not a database.
// Does not install the schema.
std::unique_ptr<Backend> make_sqlite_backend(const Config& config, const Dsn& dsn);

// The libsqlite3 driver for `path` (config.sqlite.use_wal, the lock wait of
// connection_timeout_seconds), for a store that builds its own SQLite-family backend (S3).
std::unique_ptr<sqlite_family::Driver> make_sqlite_driver(const Config& config,
                                                          const std::string& path);

}  // namespace pgqrs::backend
