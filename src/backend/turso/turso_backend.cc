#include "backend/turso/turso_backend.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "backend/sqlite_family/sql_backend.h"
#include "backend/turso/turso_driver.h"

namespace pgqrs::backend {
namespace {

using std::chrono::milliseconds;

// As for SQLite: one statement waits at most this long inside the engine for a lock, then
// the family's executor retries the whole transaction until connection_timeout_seconds is
// spent. A quarter of the budget (at most 5 s) leaves room for several retries.
milliseconds busy_timeout_for(const Config& config) {
  const milliseconds budget = std::chrono::seconds(config.connection_timeout_seconds);
  return std::clamp(budget / 4, milliseconds(10), milliseconds(5000));
}

}  // namespace

std::unique_ptr<Backend> make_turso_backend(const Config& config, const Dsn& dsn) {
  turso::TursoOptions options;
  options.path = dsn.path;
  options.busy_timeout = busy_timeout_for(config);
  // Several processes may share the file, as with SQLite (docs/turso.md, "Processes"). Turso
  // calls this mode experimental; pgqrs's multi-process and SIGKILL crash tests pass on it.
  options.experimental_features = turso::kMultiprocessWal;
  return std::make_unique<sqlite_family::SqlFamilyBackend>(
      std::make_unique<turso::TursoDriver>(std::move(options)), config);
}

}  // namespace pgqrs::backend
