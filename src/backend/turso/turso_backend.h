// Factory for the Turso backend (turso:// DSNs): the shared SQLite-family backend over the
// Turso driver (the Turso engine embedded through its C ABI). See docs/turso.md.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "pgqrs/config.h"

namespace pgqrs::backend {

// Opens dsn.path (a file, created if missing; its directory must exist) in Turso's
// multiprocess WAL mode, so that several processes can share it. Uses
// config.max_connections and config.connection_timeout_seconds. Throws ConnectionError
// naming the path when the file cannot be opened, is not a database or is locked by a
// process that opened it without multiprocess WAL. Does not install the schema.
std::unique_ptr<Backend> make_turso_backend(const Config& config, const Dsn& dsn);

}  // namespace pgqrs::backend
