// Backend registry: maps a DSN scheme to the backend built for it (ARCHITECTURE.md rule 6).
// Each backend is compiled only when its PGQRS_WITH_* option is on; asking for one that was
// not built is a ConfigError naming the option that enables it.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "pgqrs/config.h"

namespace pgqrs::backend {

// Parses config.dsn and opens its backend (does not install the schema).
std::unique_ptr<Backend> open_backend(const Config& config);

}  // namespace pgqrs::backend
