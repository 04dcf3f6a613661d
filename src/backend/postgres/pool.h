// The Postgres connection pool (config.max_connections): backend::Pool over libpq
// connections (backend/pool.h), with the Postgres policy below.
//
// Connections are opened lazily and kept for reuse (their prepared statements stay warm).
// An idle connection is checked before it is lent (one the server closed while it sat idle
// is dropped silently and replaced). A returned connection left inside a transaction (an
// operation ended by an exception) is rolled back, or closed if that fails; its pending
// notifications are drained.
#pragma once

#include <memory>

#include "backend/pool.h"
#include "backend/postgres/connection.h"

namespace pgqrs::pg {

using Pool = backend::Pool<std::unique_ptr<Connection>>;

// `options` must outlive the pool.
Pool::Policy pool_policy(const ConnectOptions& options);

}  // namespace pgqrs::pg
