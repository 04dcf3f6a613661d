// The Turso driver for the SQLite-family layer (ARCHITECTURE.md rule 2): the Turso database
// engine, embedded through its C ABI (turso.h of the crate turso_sdk_kit, linked from the
// glue crate in engine/). Everything specific to Turso lives here and in turso_status.{h,cc}:
// opening the database, per-connection settings and mapping Turso status codes to pgqrs
// errors. The SQL itself is shared with SQLite and lives in sqlite_family/.
//
// Error mapping (connection.h contract, see turso_status.h):
//   TURSO_BUSY, TURSO_BUSY_SNAPSHOT, MVCC conflicts -> sqlite_family::BusyError
//   TURSO_NOTADB                                    -> ConnectionError "<path> is not a
//                                                      database"
//   TURSO_IOERR, CORRUPT, READONLY, DATABASE_FULL,
//   failures to open                                -> ConnectionError naming the path
//   anything else                                   -> InternalError with Turso's message
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "backend/sqlite_family/connection.h"

namespace pgqrs::turso {

struct TursoOptions {
  std::string path;  // database file; created if missing (its directory must exist)
  // How long one statement waits for a lock held by another connection before failing with
  // BusyError. The driver waits, in short sleeps (busy_wait.h); the engine's own busy
  // timeout is 0.
  std::chrono::milliseconds busy_timeout{5000};
  // Comma-separated Turso experimental features to enable (turso_database_config_t), e.g.
  // kMultiprocessWal. Empty = none (the file is then locked for this process alone).
  std::string experimental_features;
};

// The Turso feature that lets several processes open one database file (a WAL coordinated
// through a shared-memory file beside it). Without it Turso locks the file for one process.
inline constexpr char kMultiprocessWal[] = "multiprocess_wal";

class Database;  // RAII owner of the turso_database_t (turso_driver.cc)

// Opens Turso connections to one database. Thread-safe: the database handle is opened once
// in the constructor and Turso allows connecting from several threads; each connection is
// then used by one thread at a time (the pool guarantees it).
class TursoDriver final : public sqlite_family::Driver {
 public:
  // Opens the database file at once, so a missing directory, a read-only location or a file
  // that is not a database fails here with ConnectionError naming the path.
  explicit TursoDriver(TursoOptions options);
  ~TursoDriver() override;
  TursoDriver(const TursoDriver&) = delete;
  TursoDriver& operator=(const TursoDriver&) = delete;

  std::string_view name() const override { return "turso"; }
  // A new connection with the busy timeout, foreign_keys=ON and synchronous=NORMAL.
  std::unique_ptr<sqlite_family::Connection> open() override;
  std::string shared_file() const override {
    return options_.path == ":memory:" ? std::string() : options_.path;
  }

  const TursoOptions& options() const { return options_; }

 private:
  TursoOptions options_;
  std::shared_ptr<Database> db_;  // shared with every connection, which may outlive us
};

// The version string of the linked Turso engine (turso_version()), e.g. "0.8.3".
std::string engine_version();

}  // namespace pgqrs::turso
