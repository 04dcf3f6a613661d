// Postgres SQL fragment for "no message names this worker", the check before a stopped worker
// row is deleted (delete_queue's stopped workers, purge_old_workers). Contract: a worker is
// referenced while any message row, archived and dead ones included, has it as consumer or as
// producer. No index serves it since schema step 9 (decision P11): the fragment reads the
// messages once per statement (the distinct worker ids they name, hashed), not once per
// worker row, and not at all when no worker row reaches it (measured: 90 ms at 350,000
// messages).
#pragma once

// A predicate on worker row alias `W` (a string literal): true when no message names W.id.
#define PGQRS_PG_NOT_REFERENCED(W)                                                              \
  "NOT EXISTS (SELECT 1 FROM (SELECT consumer_worker_id AS id FROM {s}.pgqrs_messages"          \
  " WHERE consumer_worker_id IS NOT NULL UNION SELECT producer_worker_id"                       \
  " FROM {s}.pgqrs_messages WHERE producer_worker_id IS NOT NULL) AS named WHERE named.id = " W \
  ".id)"
