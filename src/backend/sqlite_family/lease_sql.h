// The SQL test "worker ?2 holds a valid lease on message ?1 at time ?3", shared by the
// owner-only operations (sql_backend_leases.cc) and the step boundary (run_boundary).
#pragma once

// A string-literal macro so it concatenates into constant SQL at compile time.
#define PGQRS_SQL_HELD_BY_WORKER                                                        \
  " WHERE id = ?1 AND consumer_worker_id = ?2 AND vt > ?3 AND archived_at IS NULL AND " \
  "dead_at IS NULL"
