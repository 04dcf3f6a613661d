// How a backend's own public entry points (pgqrs::postgres::adopt, pgqrs/postgres_libpq.h)
// reach the Backend behind a Store without seeing the engine's state: the engine
// (src/core/store.cc) implements this, so backends depend on the interface, never on core.
#pragma once

#include "backend/backend.h"
#include "pgqrs/store.h"

namespace pgqrs::backend {

// The backend `store` was opened on; lives as long as any copy of `store`.
Backend& backend_of(const Store& store);

}  // namespace pgqrs::backend
