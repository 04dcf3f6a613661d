// The Postgres backend cases of the conformance suite (see backend_fixture.h).
//
//   postgres  : PGQRS_TEST_POSTGRES_DSN, a direct connection to the test server.
//   pgbouncer : PGQRS_TEST_PGBOUNCER_DSN, the same server through PgBouncer in transaction
//               pooling mode (no server-side session state between transactions).
//
// Each test gets a fresh schema "pgqrs_t_<random hex>" (created through a direct libpq
// connection, since the schema must exist, SPEC §1) and drops it (CASCADE) afterwards.
// `make test` starts both servers (scripts/pg-test-server) and sets the variables; without
// them the cases are skipped with that reason.
#pragma once

#include "conformance/backend_fixture.h"

namespace pgqrs_test {

BackendCase PostgresCase();
BackendCase PgBouncerCase();

// Runs `sql` on a new direct connection to PGQRS_TEST_POSTGRES_DSN; throws
// std::runtime_error with the server's message on failure. For fixtures and tests.
void RunAdminSql(const std::string& sql);
// A fresh, empty schema name created with RunAdminSql.
std::string CreateScratchSchema();

}  // namespace pgqrs_test
