#include "backend/postgres/postgres_backend.h"

#include "backend/postgres/pg_backend.h"

namespace pgqrs::backend {

std::unique_ptr<Backend> make_postgres_backend(const Config& config, const Dsn& dsn) {
  return std::make_unique<pg::PostgresBackend>(config, dsn);
}

}  // namespace pgqrs::backend
