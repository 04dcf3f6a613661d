#include "backend/registry.h"

#include <string>

#include "pgqrs/error.h"

#if PGQRS_WITH_SQLITE
#include "backend/sqlite/sqlite_backend.h"
#endif
#if PGQRS_WITH_POSTGRES
#include "backend/postgres/postgres_backend.h"
#endif
#if PGQRS_WITH_S3
#include "backend/s3/s3_backend.h"
#endif
#if PGQRS_WITH_TURSO
#include "backend/turso/turso_backend.h"
#endif

namespace pgqrs::backend {
namespace {

// Unused when every backend is built.
[[noreturn, maybe_unused]] void not_built(Scheme scheme, const char* option) {
  throw ConfigError("the " + std::string(to_string(scheme)) +
                    " backend is not available in this build of pgqrs (" + option +
                    " is off or the backend is not part of this version)");
}

}  // namespace

std::unique_ptr<Backend> open_backend(const Config& config, const Dsn& dsn) {
  switch (dsn.scheme()) {
    case Scheme::kSqlite:
#if PGQRS_WITH_SQLITE
      return make_sqlite_backend(config, dsn);
#else
      not_built(dsn.scheme(), "PGQRS_WITH_SQLITE");
#endif
    case Scheme::kPostgres:
#if PGQRS_WITH_POSTGRES
      return make_postgres_backend(config, dsn);
#else
      not_built(dsn.scheme(), "PGQRS_WITH_POSTGRES");
#endif
    case Scheme::kTurso:
#if PGQRS_WITH_TURSO
      return make_turso_backend(config, dsn);
#else
      not_built(dsn.scheme(), "PGQRS_WITH_TURSO");
#endif
    case Scheme::kS3:
#if PGQRS_WITH_S3
      return make_s3_backend(config, dsn);
#else
      not_built(dsn.scheme(), "PGQRS_WITH_S3");
#endif
  }
  throw InternalError("unhandled DSN scheme");
}

}  // namespace pgqrs::backend
