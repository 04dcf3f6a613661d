// The Postgres UserTransaction (backend.h): a transaction the user drives with their own
// statements and that enqueue joins (pgqrs/postgres.h, pgqrs/postgres_libpq.h).
//
// Two kinds:
//  - owned  : a pooled connection on which this object sent BEGIN; commit()/rollback() end
//             it and the connection goes back to the pool;
//  - adopted: the user's own connection (PGconn*), already inside their transaction; this
//             object only runs statements on it. commit() is refused (the user commits on
//             their connection); rollback() and destruction leave it untouched.
// Statements run unprepared (PQexecParams), so nothing here depends on session state that
// a pooler might not keep. Not thread-safe.
#pragma once

#include <memory>
#include <optional>

#include "backend/backend.h"
#include "backend/postgres/pool.h"

namespace pgqrs::pg {

class PostgresBackend;

class PgUserTransaction final : public backend::UserTransaction {
 public:
  // Owned: sends BEGIN on `lease`'s connection (ConnectionError if it fails).
  PgUserTransaction(PostgresBackend& backend, Pool::Lease lease);
  // Adopted: `conn` wraps the user's connection, which must be idle inside a transaction
  // (ValidationError otherwise).
  PgUserTransaction(PostgresBackend& backend, std::unique_ptr<Connection> conn);
  ~PgUserTransaction() override;

  postgres::Result execute(std::string_view sql,
                           const std::vector<postgres::Param>& params) override;
  std::vector<std::int64_t> enqueue(const backend::EnqueueParams& p) override;
  void commit() override;
  void rollback() noexcept override;
  bool active() const override;

 private:
  Connection& conn() const;
  // Translates a failure of a statement inside the transaction (the transaction is over).
  [[noreturn]] void fail(const PgError& e, std::string_view what);

  PostgresBackend& backend_;
  std::optional<Pool::Lease> lease_;      // owned kind
  std::unique_ptr<Connection> borrowed_;  // adopted kind
  bool finished_ = false;
};

}  // namespace pgqrs::pg
