#include "backend/sqlite_family/transaction.h"

namespace pgqrs::sqlite_family {

Transaction::Transaction(Session& session, Mode mode) : session_(session) {
  session_.query(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED").execute();
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    session_.query("ROLLBACK").execute();
  } catch (...) {  // NOLINT(bugprone-empty-catch)
    // SQLite may already have rolled back on its own (e.g. after an I/O error), in which
    // case ROLLBACK reports "no transaction is active": the connection is clean either way.
  }
}

void Transaction::commit() {
  session_.query("COMMIT").execute();
  done_ = true;
  session_.after_commit();
}

}  // namespace pgqrs::sqlite_family
