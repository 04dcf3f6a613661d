// pgqrs::build_info(): lives beside the registry because the PGQRS_WITH_* definitions that
// decide which backends open are the ones this file sees.
#include "backend/backend.h"
#include "pgqrs/version.h"

#ifndef PGQRS_VERSION
#error "PGQRS_VERSION must be defined by the build (the CMake project version)"
#endif

namespace pgqrs {

BuildInfo build_info() {
  BuildInfo info;
  info.library_version = PGQRS_VERSION;
  info.schema_version = backend::kSchemaVersion;
#if PGQRS_WITH_POSTGRES
  info.backends.emplace_back("postgres");
#endif
#if PGQRS_WITH_SQLITE
  info.backends.emplace_back("sqlite");
#endif
#if PGQRS_WITH_TURSO
  info.backends.emplace_back("turso");
#endif
#if PGQRS_WITH_S3
  info.backends.emplace_back("s3");
#endif
  return info;
}

}  // namespace pgqrs
