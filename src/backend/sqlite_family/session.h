// Session: one database connection plus its prepared-statement cache, and Query: a cached
// statement borrowed for one use.
//
// Preparing a statement costs about as much as running a simple one, so every statement
// the backend runs is prepared once per connection and reused (keyed by its SQL text, which
// is always a constant in this layer; user values are only ever bound).
//
// Thread-safety: none. A Session is used by one thread at a time (the pool hands it out).
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backend/sqlite_family/connection.h"
#include "backend/sqlite_family/time_codec.h"
#include "pgqrs/clock.h"

namespace pgqrs::sqlite_family {

// A prepared statement borrowed for one execution. Parameters are bound in order: the n-th
// bind() call sets ?n. The destructor resets the statement (ending any implicit read it
// holds and clearing bindings) and hands it back to the cache, so a Query must not outlive
// its Session. Not copyable or movable.
class Query {
 public:
  // A statement from the cache; *in_use is cleared on destruction.
  Query(Connection& conn, Statement& stmt, bool* in_use) noexcept
      : conn_(conn), stmt_(&stmt), in_use_(in_use) {}
  // A one-off statement owned by this Query (used when the cached one is already busy).
  Query(Connection& conn, std::unique_ptr<Statement> owned) noexcept
      : conn_(conn), owned_(std::move(owned)), stmt_(owned_.get()) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  template <std::integral T>
  Query& bind(T value) {
    stmt_->bind_int64(next_index_++, static_cast<std::int64_t>(value));
    return *this;
  }
  Query& bind(double value);
  Query& bind(std::string_view value);
  Query& bind(TimePoint value);  // stored as microseconds (time_codec.h)
  Query& bind(std::nullopt_t);
  template <class T>
  Query& bind(const std::optional<T>& value) {
    return value ? bind(*value) : bind(std::nullopt);
  }

  // Advances to the next row; false when there are no more. Throws BusyError on lock
  // conflicts, another pgqrs::Error otherwise.
  bool step() { return stmt_->step(); }
  // Runs the statement to completion and returns the rows it changed.
  std::int64_t execute();
  // Runs an "INSERT ... RETURNING id" to completion and returns the id.
  std::int64_t insert_returning_id();

  // Columns of the current row, 0-based.
  bool is_null(int col) { return stmt_->column_is_null(col); }
  std::int64_t int64(int col) { return stmt_->column_int64(col); }
  std::string text(int col) { return stmt_->column_text(col); }
  TimePoint time(int col) { return from_micros(stmt_->column_int64(col)); }
  std::optional<std::int64_t> optional_int64(int col);
  std::optional<TimePoint> optional_time(int col);

 private:
  Connection& conn_;
  std::unique_ptr<Statement> owned_;
  Statement* stmt_;
  bool* in_use_ = nullptr;
  int next_index_ = 1;
};

class Session {
 public:
  explicit Session(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The cached statement for `sql` (prepared on first use). If that statement is already
  // borrowed by a live Query (nested use), a fresh one-off statement is prepared instead.
  Query query(std::string_view sql);
  // Runs one or more statements that return no rows, uncached (DDL, migrations).
  void exec(std::string_view sql) { conn_->exec(sql); }
  // Tells the connection a transaction committed (Connection::after_commit).
  void after_commit() noexcept { conn_->after_commit(); }

 private:
  struct Entry {
    std::unique_ptr<Statement> stmt;
    bool in_use = false;
  };
  // Declared before cache_ so that statements are finalized before their connection.
  std::unique_ptr<Connection> conn_;
  std::map<std::string, Entry, std::less<>> cache_;
};

}  // namespace pgqrs::sqlite_family
