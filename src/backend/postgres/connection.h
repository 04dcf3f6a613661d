// One libpq connection and the two ways the backend talks over it, plus the exact record of
// how a request failed (PgError), which is what lets the executor decide whether a failed
// write may have committed.
//
// Failure model (docs/postgres.md, "Errors"):
//  - kNotSent : the request never left (the connection was found closed before sending).
//               Nothing can have happened on the server.
//  - kServer  : the server answered with an ErrorResponse for this request (SQLSTATE set).
//               The statement did not commit: in the extended protocol an autocommit
//               statement commits only at Sync, after which the server reports success
//               before it would process a termination request; an ErrorResponse therefore
//               always means rolled back.
//  - kLost    : the request was sent and the connection broke without an answer, or no
//               answer came within the statement timeout (a dead network: the connection
//               is then discarded). Whether a write committed is unknown.
//
// Timeouts (decision H8): every request waits for its answer on the socket (poll) at most
// ConnectOptions::statement_timeout, and never past the deadline of the operation it belongs
// to (set_deadline); sending never blocks either (owned connections are non-blocking). The
// server's statement_timeout is set to the same value when a connection opens, so the
// server also cancels a statement the client has given up on.
// Not thread-safe: a Connection is used by one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>

#include "backend/postgres/conninfo.h"
#include "backend/postgres/pq.h"

namespace pgqrs::pg {

class PgError : public std::runtime_error {
 public:
  enum class Kind { kNotSent, kServer, kLost };
  PgError(Kind kind, std::string sqlstate, const std::string& message, bool broken)
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)), broken_(broken) {}
  Kind kind() const noexcept { return kind_; }
  // Five-character SQLSTATE for kServer, empty otherwise.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // The connection is unusable afterwards (it must be discarded).
  bool broken() const noexcept { return broken_; }

 private:
  Kind kind_;
  std::string sqlstate_;
  bool broken_;
};

// A prepared-statement-able piece of SQL. `name` is derived from a hash of `sql`, so two
// statements with the same name have the same text (safe even when a pooler shares server
// connections between clients).
struct Statement {
  std::string name;
  std::string sql;
};
Statement make_statement(std::string sql);

class Connection {
 public:
  // Opens a connection, retrying transient failures (server starting, refused, too many
  // clients) until `deadline`. Throws ConfigError for what retrying cannot fix (bad
  // password, unknown database or role, unresolvable host, server too old) and
  // ConnectionError when the deadline passes. Messages name the redacted DSN only.
  static std::unique_ptr<Connection> open(const ConnectOptions& options,
                                          std::chrono::steady_clock::time_point deadline);
  // Wraps a connection owned elsewhere (the user's, pgqrs/postgres_libpq.h): never closed.
  static std::unique_ptr<Connection> borrow(PGconn* conn, const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() const { return conn_; }
  const ConnectOptions& options() const { return *options_; }

  // True when a new request can be sent: connection OK, idle (no transaction open, no
  // result pending), and not closed by the server meanwhile (reads what arrived without
  // blocking, e.g. a termination notice).
  bool usable();

  // Runs one statement with binary parameters and binary results. With `prepared`, the
  // statement is prepared on this connection on first use (PQprepare) and executed by name
  // afterwards; otherwise it is sent with PQexecParams. Throws PgError.
  Result exec(const Statement& st, const Params& params, bool prepared);
  // Runs SQL text with the simple query protocol (several statements allowed, no
  // parameters, text results). Returns the last result. Throws PgError.
  Result exec_simple(const std::string& sql);
  // Runs SQL with text parameters (NULL = nullptr) and text results (user statements).
  Result exec_text(const std::string& sql, const std::vector<const char*>& values);

  // Discards notifications that arrived on this connection (they are not ours to handle).
  void drain_notifications();

  // Requests made until clear_deadline() wait for their answers no later than `deadline`
  // (the end of the current operation's budget), nor longer than the statement timeout.
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }
  void clear_deadline() { deadline_ = std::chrono::steady_clock::time_point::max(); }

 private:
  Connection(PGconn* conn, bool owned, const ConnectOptions& options);
  // Sends nothing; collects every result of the request in flight. Throws PgError.
  Result collect(bool sent_ok);
  [[noreturn]] void fail_not_sent();
  // Flushes the request and waits until PQgetResult() will not block (PQisBusy() == 0) or
  // the connection failed; throws PgError kLost (connection broken) when `until` (the
  // statement timeout or the deadline, whichever is first, from `started`) comes first.
  void await_answer(std::chrono::steady_clock::time_point started,
                    std::chrono::steady_clock::time_point until);

  PGconn* conn_;
  bool owned_;
  const ConnectOptions* options_;
  std::unordered_set<std::string> prepared_;  // statement names prepared on this connection
  // Set when the server sent a FATAL error while no request was in flight (libpq reports
  // those as notices): the session is over, and the next request cannot have run.
  bool ended_by_server_ = false;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  static void on_notice(void* self, const PGresult* notice);
};

}  // namespace pgqrs::pg
