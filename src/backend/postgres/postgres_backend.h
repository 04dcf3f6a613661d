// Factory for the Postgres backend (postgresql:// and postgres:// DSNs). See
// docs/postgres.md for the design, and pg_backend.h for the implementation's contract.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "pgqrs/config.h"

namespace pgqrs::backend {

// Connects (one connection at once) and checks config.schema exists. ConfigError for a bad
// DSN, wrong credentials, an unknown database or a missing schema; ConnectionError when the
// server cannot be reached within connection_timeout_seconds. Does not install the schema.
std::unique_ptr<Backend> make_postgres_backend(const Config& config, const Dsn& dsn);

}  // namespace pgqrs::backend
