// Postgres only: enqueue inside your own database transaction (SPEC §3).
//
// A job should exist exactly when the business write that asked for it commits. Open a
// transaction on the store, do your writes through it, enqueue through it, commit:
//
//   pgqrs::postgres::Transaction tx = pgqrs::postgres::begin(store);
//   tx.execute("INSERT INTO orders (id, total) VALUES ($1, $2)", {order_id, 19.99});
//   pgqrs::enqueue().message({{"order", order_id}}).to("emails").execute(tx);
//   tx.commit();  // the order row and the job appear together -- or, without commit(), neither
//
// The transaction runs on one connection of the store's pool (it counts against
// max_connections until it ends). Consumers never see a message before commit(); idle
// consumers are woken by the commit. If you already own a libpq connection, see
// pgqrs/postgres_libpq.h (opt-in; the only pgqrs header that includes libpq).
//
// On a store whose backend is not Postgres, begin() throws ConfigError naming the backend.
// This header has no libpq types; see docs/postgres.md.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/error.h"
#include "pgqrs/records.h"
#include "pgqrs/store.h"

namespace pgqrs {

namespace postgres {

struct TransactionAccess;  // the engine's side of a Transaction (src/core); not for users

// One statement parameter ($1, $2, ...), sent as text (the server converts it to the type
// the statement needs; add a cast such as $1::int when the type is ambiguous) or SQL NULL.
class Param {
 public:
  Param(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): SQL NULL
  Param(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): SQL NULL
  Param(std::string_view text) : text_(std::string(text)) {}  // NOLINT
  Param(const char* text) : text_(std::string(text)) {}       // NOLINT
  Param(const std::string& text) : text_(text) {}             // NOLINT
  template <std::integral T>
  Param(T v) {  // NOLINT
    if constexpr (std::same_as<T, bool>) {
      text_ = v ? "true" : "false";
    } else {
      text_ = std::to_string(v);
    }
  }
  Param(double v);       // NOLINT: shortest text that reads back as the same double
  Param(const json& v);  // NOLINT: the serialised JSON (for json / jsonb columns)
  template <class T>
  Param(const std::optional<T>& v) {  // NOLINT: nullopt = SQL NULL
    if (v) text_ = Param(*v).text_;
  }

  const std::optional<std::string>& text() const { return text_; }

 private:
  std::optional<std::string> text_;
};

// What a statement returned: column names, rows of text values (SQL NULL = nullopt), and
// the number of rows it inserted, updated, deleted or returned.
struct Result {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::uint64_t affected_rows = 0;
};

// A statement the server rejected (syntax, constraint violation, ...). The transaction is
// then aborted: commit() will throw, and everything it did is rolled back.
class SqlError : public Error {
 public:
  SqlError(const std::string& message, std::string sqlstate, bool retryable)
      : Error(ErrorCode::kExecutionFailed, message, retryable), sqlstate_(std::move(sqlstate)) {}
  // The five-character SQLSTATE, e.g. "23505" for a unique violation.
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// An open database transaction. Destroying it without commit() rolls it back (never
// throws). Movable, not copyable; use it from one thread at a time.
//
// Errors: SqlError for a rejected statement; ConnectionError if the connection breaks
// (everything is rolled back, except when it breaks during commit(): then
// outcome_unknown() is true, because the server may have committed); after any error the
// transaction is finished and only destruction or rollback() is allowed
// (StateTransitionError otherwise).
class Transaction {
 public:
  // Runs one SQL statement with text parameters in this transaction.
  Result execute(std::string_view sql, const std::vector<Param>& params = {});
  // Makes everything done in the transaction, including enqueued messages, durable and
  // visible at once; wakes idle consumers.
  void commit();
  // Discards everything done in the transaction. No-op when it is already finished.
  void rollback() noexcept;
  // True until commit(), rollback() or an error ends the transaction.
  bool active() const;

  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

 private:
  friend struct TransactionAccess;
  class Impl;  // the backend's transaction
  Transaction(Store store, std::unique_ptr<Impl> impl);

  Store store_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> wake_;  // queues to wake after commit (set by enqueue)
};

// Opens a transaction (BEGIN) on a connection of the store's pool. ConfigError when the
// store's backend is not Postgres; ConnectionError / TimeoutError if no connection can be had.
Transaction begin(const Store& store);

}  // namespace postgres
}  // namespace pgqrs
