// Opt-in: enqueue on a libpq connection you own, inside the transaction you have open on
// it. This is the only pgqrs header that includes <libpq-fe.h>; include it only if your
// code already uses libpq (and links it).
//
//   PQexec(conn, "BEGIN");
//   PQexec(conn, "UPDATE accounts SET ...");            // your business write
//   pgqrs::postgres::Transaction tx = pgqrs::postgres::adopt(store, conn);
//   pgqrs::enqueue().message({{"notify", 42}}).to("emails").execute(tx);
//   PQexec(conn, "COMMIT");                              // the job exists iff this commits
//
// adopt() returns a Transaction *view* of your connection: execute() and enqueue run their
// statements on `conn` (unprepared, binary parameters; nothing depends on your session
// settings except that the pgqrs tables must be in the same database as the store's). It
// does not own the connection or the transaction: commit() on the view throws
// StateTransitionError (commit on your connection instead), rollback() and destruction do
// nothing. `conn` must stay open and be used by no one else while the view is in use.
//
// Requirements, checked (ValidationError otherwise): `conn` is open, in blocking mode, not
// in pipeline mode, and idle inside a transaction (after your BEGIN, every result read).
// ConfigError if `store` is not on the postgres backend. In-process consumers are woken
// through LISTEN/NOTIFY when your transaction commits (there is no commit() to hook).
#pragma once

#include <libpq-fe.h>

#include "pgqrs/postgres.h"

namespace pgqrs::postgres {

Transaction adopt(const Store& store, PGconn* conn);

}  // namespace pgqrs::postgres
