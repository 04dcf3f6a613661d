#include "backend/postgres/user_transaction.h"

#include <chrono>
#include <cstring>

#include "backend/postgres/message_sql.h"
#include "backend/postgres/pg_backend.h"
#include "backend/store_backend.h"
#include "pgqrs/error.h"
#include "pgqrs/postgres_libpq.h"

namespace pgqrs::pg {
namespace {

bool retryable_sqlstate(const std::string& s) { return s == "40001" || s == "40P01"; }

}  // namespace

PgUserTransaction::PgUserTransaction(PostgresBackend& backend, Pool::Lease lease)
    : backend_(backend), lease_(std::move(lease)) {
  try {
    conn().exec_simple("BEGIN");
  } catch (const PgError& e) {
    lease_->mark_broken();
    throw ConnectionError("postgres: could not begin a transaction: " + std::string(e.what()));
  }
}

PgUserTransaction::PgUserTransaction(PostgresBackend& backend, std::unique_ptr<Connection> conn)
    : backend_(backend), borrowed_(std::move(conn)) {
  PGconn* c = borrowed_->get();
  if (PQstatus(c) != CONNECTION_OK) {
    throw ValidationError(
        "postgres::adopt: the connection is not open (PQstatus != CONNECTION_OK)");
  }
  if (PQpipelineStatus(c) != PQ_PIPELINE_OFF || PQisnonblocking(c) != 0) {
    throw ValidationError(
        "postgres::adopt: the connection must be in blocking mode and not in pipeline mode");
  }
  if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
    throw ValidationError(
        "postgres::adopt: the connection must be idle inside an open transaction (send BEGIN "
        "first, and finish reading every result)");
  }
}

PgUserTransaction::~PgUserTransaction() { rollback(); }

Connection& PgUserTransaction::conn() const { return lease_ ? **lease_ : *borrowed_; }

bool PgUserTransaction::active() const {
  if (borrowed_) return PQtransactionStatus(borrowed_->get()) == PQTRANS_INTRANS;
  return !finished_;
}

void PgUserTransaction::fail(const PgError& e, std::string_view what) {
  if (lease_) {
    finished_ = true;
    if (e.broken()) lease_->mark_broken();
  }
  if (e.kind() == PgError::Kind::kServer && !e.broken()) {
    throw postgres::SqlError("postgres: " + std::string(what) + ": " + e.what() + " (SQLSTATE " +
                                 e.sqlstate() +
                                 "); the transaction is aborted and will be rolled back",
                             e.sqlstate(), retryable_sqlstate(e.sqlstate()));
  }
  // The server ended the session with an error (terminated, shutting down) or the request
  // never left: either way nothing of the transaction was committed.
  throw ConnectionError("postgres: " + std::string(what) +
                        ": the connection was lost; the transaction was rolled back: " + e.what());
}

postgres::Result PgUserTransaction::execute(std::string_view sql,
                                            const std::vector<postgres::Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.text() ? p.text()->c_str() : nullptr);
  Result r;
  try {
    r = conn().exec_text(std::string(sql), values);
  } catch (const PgError& e) {
    fail(e, "statement failed");
  }
  postgres::Result out;
  PGresult* res = r.get();
  if (res == nullptr) return out;
  const int cols = PQnfields(res);
  const int rows = PQntuples(res);
  out.columns.reserve(static_cast<std::size_t>(cols));
  for (int c = 0; c < cols; ++c) out.columns.emplace_back(PQfname(res, c));
  out.rows.reserve(static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    std::vector<std::optional<std::string>> row;
    row.reserve(static_cast<std::size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(res, i, c) != 0) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(
            std::string(PQgetvalue(res, i, c), static_cast<std::size_t>(PQgetlength(res, i, c))));
      }
    }
    out.rows.push_back(std::move(row));
  }
  out.affected_rows =
      PQresultStatus(res) == PGRES_TUPLES_OK ? static_cast<std::uint64_t>(rows) : r.affected();
  return out;
}

std::vector<std::int64_t> PgUserTransaction::enqueue(const backend::EnqueueParams& p) {
  if (!p.flow.empty()) {
    throw ValidationError(
        "enqueue in a Postgres transaction: priority, dedup_key and concurrency_key are not "
        "supported there yet (enqueue through the store instead)");
  }
  Result r;
  try {
    r = conn().exec(backend_.statements()(kEnqueue),
                    enqueue_params(p, backend_.channel(), NotifyIn::kStatement),
                    /*prepared=*/false);
  } catch (const PgError& e) {
    if (e.kind() == PgError::Kind::kServer && e.sqlstate() == "42P01") {
      if (lease_) finished_ = true;
      throw ConfigError("pgqrs is not installed in schema '" + backend_.schema() +
                        "' (run admin(store).install()): " + e.what());
    }
    fail(e, "enqueue failed");
  }
  return enqueue_result(r, p);
}

void PgUserTransaction::commit() {
  if (borrowed_) {
    throw StateTransitionError(
        "postgres::adopt: the transaction belongs to your connection; commit it there");
  }
  finished_ = true;
  Result r;
  try {
    r = conn().exec_simple("COMMIT");
  } catch (const PgError& e) {
    if (e.broken()) lease_->mark_broken();
    if (e.kind() == PgError::Kind::kLost) {
      throw ConnectionError(
          "postgres: the connection was lost during COMMIT; the transaction may or may not "
          "have been committed (outcome unknown): " +
              std::string(e.what()),
          /*outcome_unknown=*/true);
    }
    fail(e, "commit failed");
  }
  // COMMIT of a transaction that had failed answers "ROLLBACK".
  if (const char* tag = PQcmdStatus(r.get()); tag != nullptr && std::strcmp(tag, "ROLLBACK") == 0) {
    throw postgres::SqlError(
        "postgres: commit: the transaction had failed earlier and was rolled back", "25P02", false);
  }
}

void PgUserTransaction::rollback() noexcept {
  if (borrowed_ || finished_) return;
  finished_ = true;
  try {
    conn().exec_simple("ROLLBACK");
  } catch (...) {
    lease_->mark_broken();  // the pool closes it; the server rolls back on disconnect
  }
}

// ---- PostgresBackend hooks ---------------------------------------------------------------

std::unique_ptr<backend::UserTransaction> PostgresBackend::begin_user_transaction() {
  auto lease = pool_.acquire(std::chrono::steady_clock::now() + exec_.timeout());
  return std::make_unique<PgUserTransaction>(*this, std::move(lease));
}

}  // namespace pgqrs::pg

namespace pgqrs::postgres {

Transaction adopt(const Store& store, PGconn* conn) {
  auto* pg = dynamic_cast<pg::PostgresBackend*>(&backend::backend_of(store));
  if (pg == nullptr) {
    throw ConfigError(
        "postgres::adopt needs a store on the postgres backend; this store uses the " +
        std::string(store.backend_name()) + " backend");
  }
  if (conn == nullptr) throw ValidationError("postgres::adopt: the connection is null");
  auto impl = std::make_unique<pg::PgUserTransaction>(
      *pg, pg::Connection::borrow(conn, pg->connect_options()));
  return backend::make_transaction(store, std::move(impl));
}

}  // namespace pgqrs::postgres
