// How a backend's own public entry points (pgqrs::postgres::adopt, pgqrs/postgres_libpq.h)
// reach the Backend behind a Store and make public handles, without seeing the engine's
// state: the engine (src/core) implements these, so backends depend on the interface, never
// on core.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "pgqrs/postgres.h"
#include "pgqrs/store.h"

namespace pgqrs::backend {

// The backend `store` was opened on; lives as long as any copy of `store`.
Backend& backend_of(const Store& store);

// A postgres::Transaction of `store` over the backend's transaction `tx` (postgres::adopt).
postgres::Transaction make_transaction(const Store& store, std::unique_ptr<UserTransaction> tx);

}  // namespace pgqrs::backend
