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
  // One process per file (docs/turso.md, "Processes", H24): the engine's experimental
  // multiprocess WAL lost and re-ran recorded steps under SIGKILL torture, so it is not used;
  // the driver locks the file for this process.
  return std::make_unique<sqlite_family::SqlFamilyBackend>(
      std::make_unique<turso::TursoDriver>(std::move(options)), config);
}

}  // namespace pgqrs::backend
