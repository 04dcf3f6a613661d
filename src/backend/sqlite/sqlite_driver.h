// The libsqlite3 driver for the SQLite-family layer (ARCHITECTURE.md rule 2). Everything
// specific to libsqlite3 lives here: opening a database file, the per-connection PRAGMAs,
// and mapping SQLite result codes to pgqrs errors. The SQL itself lives in sqlite_family/.
//
// Error mapping (connection.h contract):
//   SQLITE_BUSY, SQLITE_LOCKED                           -> sqlite_family::BusyError
//   SQLITE_NOTADB                                        -> ConnectionError "<path> is not a
//                                                           SQLite database"
//   SQLITE_CANTOPEN, IOERR, CORRUPT, FULL, READONLY, PERM,
//   NOLFS, AUTH, PROTOCOL                                -> ConnectionError naming the path
//   anything else                                        -> InternalError with sqlite3_errmsg
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "backend/sqlite_family/connection.h"

namespace pgqrs::sqlite {

struct SqliteOptions {
  std::string path;  // file path, or ":memory:"
  // journal_mode=WAL (+ synchronous=NORMAL) so readers never block the writer. When false
  // the journal mode is left as it is (a file that is already WAL stays WAL).
  bool use_wal = true;
  // How long one statement waits inside SQLite for a lock held by another connection or
  // process (sqlite3_busy_timeout) before failing with BusyError.
  std::chrono::milliseconds busy_timeout{5000};
};

// Opens libsqlite3 connections to one database. Thread-safe (open() only reads options_).
// Each connection is opened with SQLITE_OPEN_NOMUTEX: the pool guarantees a connection is
// used by one thread at a time, so SQLite's per-connection mutex would be pure overhead.
class SqliteDriver final : public sqlite_family::Driver {
 public:
  explicit SqliteDriver(SqliteOptions options);
  std::string_view name() const override { return "sqlite"; }
  // Opens and configures a connection (busy timeout, foreign_keys=ON, WAL). Reads the file
  // header at once, so a missing directory or a file that is not a database fails here with
  // ConnectionError naming the path.
  std::unique_ptr<sqlite_family::Connection> open() override;
  std::string shared_file() const override {
    return options_.path == ":memory:" ? std::string() : options_.path;
  }

  const SqliteOptions& options() const { return options_; }

 private:
  SqliteOptions options_;
};

}  // namespace pgqrs::sqlite
