#include "backend/postgres/pool.h"

#include <libpq-fe.h>

namespace pgqrs::pg {

Pool::Policy pool_policy(const ConnectOptions& options) {
  Pool::Policy p;
  p.open = [&options](Pool::Deadline deadline) { return Connection::open(options, deadline); };
  p.usable = [](std::unique_ptr<Connection>& conn) { return conn->usable(); };
  p.recycle = [](std::unique_ptr<Connection>& handle) noexcept {
    Connection& conn = *handle;
    if (PQstatus(conn.get()) != CONNECTION_OK) return false;
    if (PQtransactionStatus(conn.get()) != PQTRANS_IDLE) {
      try {
        conn.exec_simple("ROLLBACK");
      } catch (...) {
        return false;
      }
      if (PQtransactionStatus(conn.get()) != PQTRANS_IDLE) return false;
    }
    try {
      conn.drain_notifications();
    } catch (...) {
      return false;
    }
    return true;
  };
  return p;
}

}  // namespace pgqrs::pg
