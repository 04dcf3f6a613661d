// Postgres SQL fragments that keep pgqrs_archived_counts (schema step "per-queue archived
// counters") in step with the message rows, inside the statement that archives or deletes them.
// Contract: the archived total of a queue = sum(n) over its counter rows = the number of its
// message rows with archived_at set. Every statement that sets archived_at or deletes archived
// rows must use one of these (archive, archive_and_dequeue, purge, prune of archived rows).
#pragma once

// A CTE (no trailing comma) adding the rows of CTE `ROWS` (columns queue_id, ...) to their
// queues' counters on stripe `WORKER` % 16: concurrent consumers of one queue update different
// rows instead of queueing behind one row lock. One upsert per queue per statement.
#define PGQRS_PG_COUNT_ARCHIVED(ROWS, WORKER)                                           \
  "archived_count AS (INSERT INTO {s}.pgqrs_archived_counts AS c (queue_id, stripe, n)" \
  " SELECT queue_id, (" WORKER " % 16)::smallint, count(*) FROM " ROWS                  \
  " GROUP BY queue_id"                                                                  \
  " ON CONFLICT (queue_id, stripe) DO UPDATE SET n = c.n + excluded.n)"

// A CTE (no trailing comma) taking the archived rows among the deleted rows of CTE `ROWS`
// (columns queue_id, archived_at) off their queues' counters, on stripe 0 (a stripe may go
// negative; only the sum is meaningful).
#define PGQRS_PG_UNCOUNT_ARCHIVED(ROWS)                                                   \
  "archived_uncount AS (INSERT INTO {s}.pgqrs_archived_counts AS c (queue_id, stripe, n)" \
  " SELECT queue_id, 0, -count(*) FROM " ROWS                                             \
  " WHERE archived_at IS NOT NULL GROUP BY queue_id"                                      \
  " ON CONFLICT (queue_id, stripe) DO UPDATE SET n = c.n + excluded.n)"
