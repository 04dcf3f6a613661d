#include "backend/turso/turso_backend.h"

#include <utility>

#include "backend/sqlite_family/lock_wait.h"
#include "backend/sqlite_family/sql_backend.h"
#include "backend/turso/turso_driver.h"

namespace pgqrs::backend {

std::unique_ptr<Backend> make_turso_backend(const Config& config, const Dsn& dsn) {
  turso::TursoOptions options;
  options.path = dsn.path();
  options.busy_timeout = sqlite_family::statement_lock_wait(config);
  // Several processes may share the file, as with SQLite (docs/turso.md, "Processes"). Turso
  // calls this mode experimental; pgqrs's multi-process and SIGKILL crash tests pass on it.
  options.experimental_features = turso::kMultiprocessWal;
  return std::make_unique<sqlite_family::SqlFamilyBackend>(
      std::make_unique<turso::TursoDriver>(std::move(options)), config);
}

}  // namespace pgqrs::backend
