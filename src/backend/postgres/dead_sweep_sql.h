// Postgres SQL fragment for the dead-letter sweep of a dequeue (the unlimited statement in
// pg_backend_messages.cc and pgqrs_lease_limited in migration_hot_path.cc; decision P12).
//
// Contract: marks dead (dead_at = NOW, consumer cleared) up to 100 + 100 of the queue's live
// messages that are visible at NOW and already delivered MAX times (max_read_ct >= 1, as
// Config validates). Marking is lazy by design: such a message is a dead letter by definition
// (backend.h) whether or not dead_at is set yet, and the candidate scans skip it
// (read_ct + 0 < MAX).
//
// Where those messages are, read without walking the backlog (schema step 10): a live message
// with read_ct >= 1 was leased at least once, so it is either
//  - held (consumer set) with its lease expired: pgqrs_messages_held_idx (queue_id, vt, id),
//    the range vt <= NOW (expired leases: what crashed or slow consumers held, few), or
//  - returned (consumer NULL: released on shutdown, reclaimed from a zombie, nacked, put back
//    by a workflow's sleep): pgqrs_messages_returned_idx (queue_id, read_ct), which holds
//    only those rows, read backwards from the most delivered. A first delivery that is
//    archived never enters it, so the drain pays nothing for it (the former
//    pgqrs_messages_redelivery_idx held every live row: one btree insert per lease).
// The literal "consumer_worker_id IS NULL AND read_ct > 0" lets the planner prove the
// returned index's predicate in a generic plan.
#pragma once

// CTE definitions `spent_returned`, `spent_held` and `dead` (RETURNING 1 per message marked),
// for a WITH list. Q: the queue id expression; NOW, MAX: the time and max_read_ct
// expressions; GUARD: extra conditions (" AND ...", or "").
#define PGQRS_PG_DEAD_SWEEP(Q, NOW, MAX, GUARD)                                                \
  "spent_returned AS (SELECT id FROM {s}.pgqrs_messages WHERE queue_id = " Q                   \
  " AND archived_at IS NULL AND dead_at IS NULL AND consumer_worker_id IS NULL"                \
  " AND read_ct > 0 AND read_ct >= " MAX " AND vt <= " NOW GUARD                               \
  " ORDER BY read_ct DESC LIMIT 100 FOR UPDATE SKIP LOCKED),"                                  \
  " spent_held AS (SELECT id FROM {s}.pgqrs_messages WHERE queue_id = " Q                      \
  " AND archived_at IS NULL AND dead_at IS NULL AND consumer_worker_id IS NOT NULL"            \
  " AND vt <= " NOW " AND read_ct + 0 >= " MAX GUARD                                           \
  " ORDER BY vt, id LIMIT 100 FOR UPDATE SKIP LOCKED),"                                        \
  " dead AS (UPDATE {s}.pgqrs_messages SET dead_at = " NOW                                     \
  ", consumer_worker_id = NULL"                                                                \
  " WHERE id = ANY (ARRAY(SELECT id FROM spent_returned UNION ALL SELECT id FROM spent_held))" \
  " RETURNING 1)"
