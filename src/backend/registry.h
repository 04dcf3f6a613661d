// Backend registry: maps a DSN scheme to the backend built for it (ARCHITECTURE.md rule 6).
// Each backend is compiled only when its PGQRS_WITH_* option is on; asking for one that was
// not built is a ConfigError naming the option that enables it.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "pgqrs/config.h"

namespace pgqrs::backend {

// Opens the backend for `dsn`'s scheme (does not install the schema). `config` supplies
// everything but the DSN (config.dsn is not read). ConfigError when the scheme's backend
// is not part of this build.
std::unique_ptr<Backend> open_backend(const Config& config, const Dsn& dsn);

}  // namespace pgqrs::backend
