// The tiny connection interface the SQLite-family layer runs on (ARCHITECTURE.md rule 2).
// One driver implements it over libsqlite3 (src/backend/sqlite), another over Turso's C ABI
// (src/backend/turso). All SQL and row mapping lives above it, in sqlite_family/.
//
// Error contract for drivers: a lock conflict (SQLITE_BUSY / SQLITE_LOCKED or the engine's
// equivalent) throws BusyError; anything else throws a pgqrs::Error subclass with the
// driver's message (ConnectionError for I/O / cannot-open, InternalError for SQL errors).
// A Connection is used by one thread at a time; Statements belong to their Connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {

// Another connection holds the lock; the caller may retry the whole transaction.
class BusyError : public Error {
 public:
  explicit BusyError(const std::string& message) : Error(ErrorCode::kTimeout, message, true) {}
};

class Statement {
 public:
  virtual ~Statement() = default;
  // Parameter indexes are 1-based, as in SQLite.
  virtual void bind_int64(int index, std::int64_t value) = 0;
  virtual void bind_double(int index, double value) = 0;
  virtual void bind_text(int index, std::string_view value) = 0;
  virtual void bind_null(int index) = 0;
  // Advances; true when a row is available, false when done.
  virtual bool step() = 0;
  // Column accessors for the current row; indexes are 0-based.
  virtual bool column_is_null(int index) = 0;
  virtual std::int64_t column_int64(int index) = 0;
  virtual double column_double(int index) = 0;
  virtual std::string column_text(int index) = 0;
  // Ready to run again with new bindings (clears bindings).
  virtual void reset() = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual std::unique_ptr<Statement> prepare(std::string_view sql) = 0;
  // Runs one or more statements that return no rows.
  virtual void exec(std::string_view sql) = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  virtual std::int64_t changes() = 0;
  // Called after each COMMIT of a transaction on this connection (outside any transaction),
  // for upkeep a driver cannot hook into the engine, such as bounding the write-ahead log.
  // Failures are the driver's to swallow: the commit has happened.
  virtual void after_commit() noexcept {}
};

// Opens connections to one database. Thread-safe.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string_view name() const = 0;  // "sqlite" / "turso"
  virtual std::unique_ptr<Connection> open() = 0;
  // The database file other connections and processes write (watched for their commits,
  // change_watcher.h); empty for a database only this driver's connections see (":memory:").
  virtual std::string shared_file() const { return {}; }
};

}  // namespace pgqrs::sqlite_family
