#include "backend/postgres/migration_hot_path.h"

#include "backend/postgres/dead_sweep_sql.h"

namespace pgqrs::pg {

// pgqrs_lease_limited: the dequeue of a queue with limits (decision F9), called as one
// prepared autocommit statement. VOLATILE, so each statement in it reads a fresh snapshot
// (READ COMMITTED): the counts are read AFTER the queue row lock is granted and therefore
// see every lease committed by the previous holder of that lock. That is what a single
// plain statement cannot do (its snapshot predates the lock wait), and why this is a
// function and not a CTE. The lock serialises the limited dequeuers of one queue (F1); it
// is held until the call's transaction commits. A queue limited only by key_concurrency is
// share-locked instead and serialised per key by advisory locks (F13), so its consumers
// lease, and commit, side by side.
//
// Arguments: queue name, now, new vt, consumer, max_read_ct, limit, ids to archive first
// (the poll loop's archive_and_dequeue step; empty: none). One row always comes back:
// queue id (NULL: no such queue), the consumer's status (NULL: no such worker), dead letters
// swept, whether the queue has no limits at all (`free`), the archived ids, then the leased
// message (NULL columns when none), one row per message in delivery order. Nothing is
// leased for a missing queue or a missing or stopped consumer (the caller throws).
//
// Predicates are written as in the unlimited statement (pg_backend_messages.cc) so that,
// with forced generic plans, only the intended index serves each query.
const char kMigrationHotPath[] = R"sql(
CREATE OR REPLACE FUNCTION {s}.pgqrs_lease_limited(
  p_queue text, p_now timestamptz, p_vt timestamptz, p_consumer bigint, p_max_read_ct integer,
  p_limit bigint, p_archive bigint[])
RETURNS TABLE (
  r_queue_id bigint, r_status text, r_dead bigint, r_free boolean, r_archived bigint[],
  r_id bigint, r_msg_queue_id bigint, r_payload jsonb, r_vt timestamptz,
  r_enqueued_at timestamptz, r_read_ct integer, r_dequeued_at timestamptz,
  r_producer_worker_id bigint, r_consumer_worker_id bigint, r_archived_at timestamptz,
  r_dead_at timestamptz, r_priority integer, r_dedup_key text, r_concurrency_key text,
  r_traceparent text, r_tracestate text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  v_status   text;
  v_q        record;
  v_archived bigint[] := '{}';
  v_dead     bigint := 0;
  v_budget   bigint := p_limit;
  v_n        bigint;
  v_picked   bigint[] := '{}';
  v_keys     text[] := '{}';
  v_held     bigint[] := '{}';
  v_pos      integer;
  v_page     bigint;
  v_seen     bigint;
  v_after_priority integer := -2147483648;
  v_after_vt       timestamptz := '-infinity';
  v_after_id       bigint := 0;
  v_keyed    boolean;
  c          record;
BEGIN
  IF cardinality(p_archive) > 0 THEN
    -- The archived counters (schema step 5, archived_counts_sql.h) move in the same
    -- statement, on the consumer's stripe.
    WITH a AS (
      UPDATE {s}.pgqrs_messages SET archived_at = p_now
      WHERE id = ANY (p_archive) AND coalesce(consumer_worker_id, 0) = p_consumer
        AND vt > p_now AND coalesce(archived_at, dead_at) IS NULL
      RETURNING id, queue_id),
    archived_count AS (
      INSERT INTO {s}.pgqrs_archived_counts AS ac (queue_id, stripe, n)
      SELECT queue_id, (p_consumer % 16)::smallint, count(*) FROM a GROUP BY queue_id
      ON CONFLICT (queue_id, stripe) DO UPDATE SET n = ac.n + excluded.n)
    SELECT coalesce(array_agg(id), '{}') INTO v_archived FROM a;
  END IF;
  SELECT status INTO v_status FROM {s}.pgqrs_workers WHERE id = p_consumer FOR SHARE;
  -- The queue's lock (F13): a queue whose only limit is key_concurrency is share-locked, and
  -- its dequeuers run side by side, serialised per key instead (below); any other limit
  -- takes the row exclusively, serialising every limited dequeue of the queue (F1). The
  -- unlocked read chooses; the locked one decides (options changed in between: this call
  -- leases nothing, the next one takes the other way).
  SELECT key_concurrency IS NOT NULL AND concurrency IS NULL AND worker_concurrency IS NULL
         AND rate_limit IS NULL
    INTO v_keyed FROM {s}.pgqrs_queues WHERE queue_name = p_queue;
  IF v_keyed THEN
    SELECT id, concurrency, worker_concurrency, key_concurrency, rate_limit, rate_period_us,
           tableoid
      INTO v_q FROM {s}.pgqrs_queues WHERE queue_name = p_queue FOR SHARE;
    IF v_q.key_concurrency IS NULL OR v_q.concurrency IS NOT NULL
       OR v_q.worker_concurrency IS NOT NULL OR v_q.rate_limit IS NOT NULL THEN
      v_budget := 0;
    END IF;
  ELSE
    SELECT id, concurrency, worker_concurrency, key_concurrency, rate_limit, rate_period_us,
           tableoid
      INTO v_q FROM {s}.pgqrs_queues WHERE queue_name = p_queue FOR UPDATE;
  END IF;
  IF v_q.id IS NULL OR v_status IS NULL OR v_status = 'stopped' THEN
    RETURN QUERY SELECT v_q.id, v_status, 0::bigint, NULL::boolean, v_archived,
      NULL::bigint, NULL::bigint, NULL::jsonb, NULL::timestamptz, NULL::timestamptz,
      NULL::integer, NULL::timestamptz, NULL::bigint, NULL::bigint, NULL::timestamptz,
      NULL::timestamptz, NULL::integer, NULL::text, NULL::text, NULL::text, NULL::text;
    RETURN;
  END IF;

  -- Dead letters: visible live messages delivered max_read_ct times already, the
  -- unlimited statement's sweep (dead_sweep_sql.h, decision P12).
  WITH )sql" PGQRS_PG_DEAD_SWEEP("v_q.id", "p_now", "p_max_read_ct", "") R"sql(
  SELECT count(*) INTO v_dead FROM dead;

  -- The budget: min(limit, each limit minus what is held), as backend::lease_budget.
  -- Held leases are counted in pgqrs_messages_held_idx (schema step 8).
  IF v_q.concurrency IS NOT NULL THEN
    SELECT count(*) INTO v_n FROM {s}.pgqrs_messages
    WHERE queue_id = v_q.id AND archived_at IS NULL AND dead_at IS NULL
      AND consumer_worker_id IS NOT NULL AND vt > p_now;
    v_budget := least(v_budget, v_q.concurrency - v_n);
  END IF;
  IF v_q.worker_concurrency IS NOT NULL THEN
    SELECT count(*) INTO v_n FROM {s}.pgqrs_messages
    WHERE queue_id = v_q.id AND archived_at IS NULL AND dead_at IS NULL
      AND consumer_worker_id IS NOT NULL AND consumer_worker_id + 0 = p_consumer
      AND vt > p_now;
    v_budget := least(v_budget, v_q.worker_concurrency - v_n);
  END IF;
  IF v_q.rate_limit IS NOT NULL THEN
    -- The rate window (backend/flow_limits.h, F12): count every lease after now - period,
    -- later ones included; forget rows only kRateLeaseKeep (60 s) after they left it.
    DELETE FROM {s}.pgqrs_rate_leases
    WHERE queue_id = v_q.id
      AND leased_at <= p_now - v_q.rate_period_us * interval '1 microsecond'
                     - interval '60 seconds';
    SELECT count(*) INTO v_n FROM {s}.pgqrs_rate_leases
    WHERE queue_id = v_q.id
      AND leased_at > p_now - v_q.rate_period_us * interval '1 microsecond';
    v_budget := least(v_budget, v_q.rate_limit - v_n);
  END IF;

  -- Candidates in delivery order (priority, vt, id), a page at a time (each priority range
  -- read in order from its own index, and expired leases from theirs, as in the unlimited
  -- statement), until the budget is filled or none are left. A candidate whose concurrency
  -- key is at key_concurrency is skipped, not waited for (F2); a key's held leases are
  -- counted once per call. The next page starts after the last candidate seen and is twice
  -- as long.
  v_page := CASE WHEN v_q.key_concurrency IS NULL THEN v_budget
                 ELSE greatest(v_budget * 2, 16) END;
  <<pages>>
  WHILE v_budget > 0 LOOP
    v_seen := 0;
    FOR c IN
      SELECT m.id, m.priority, m.vt, m.concurrency_key FROM (
        (SELECT id, priority, vt, concurrency_key FROM {s}.pgqrs_messages
         WHERE queue_id = v_q.id AND archived_at IS NULL AND dead_at IS NULL
           AND priority <> 0 AND priority < 0 AND consumer_worker_id IS NULL
           AND vt <= p_now AND read_ct + 0 < p_max_read_ct
           AND (priority, vt, id) > (v_after_priority, v_after_vt, v_after_id)
         ORDER BY priority, vt, id LIMIT v_page)
        UNION ALL
        (SELECT id, priority, vt, concurrency_key FROM {s}.pgqrs_messages
         WHERE queue_id = v_q.id AND archived_at IS NULL AND dead_at IS NULL
           AND priority = 0 AND consumer_worker_id IS NULL
           AND vt <= p_now AND read_ct + 0 < p_max_read_ct
           AND (priority, vt, id) > (v_after_priority, v_after_vt, v_after_id)
         ORDER BY vt, id LIMIT v_page)
        UNION ALL
        (SELECT id, priority, vt, concurrency_key FROM {s}.pgqrs_messages
         WHERE queue_id = v_q.id AND archived_at IS NULL AND dead_at IS NULL
           AND priority <> 0 AND priority > 0 AND consumer_worker_id IS NULL
           AND vt <= p_now AND read_ct + 0 < p_max_read_ct
           AND (priority, vt, id) > (v_after_priority, v_after_vt, v_after_id)
         ORDER BY priority, vt, id LIMIT v_page)
        UNION ALL
        -- Expired leases (pgqrs_messages_held_idx), every priority: few, so sorted.
        (SELECT id, priority, vt, concurrency_key FROM {s}.pgqrs_messages
         WHERE queue_id = v_q.id AND archived_at IS NULL AND dead_at IS NULL
           AND consumer_worker_id IS NOT NULL
           AND vt <= p_now AND read_ct + 0 < p_max_read_ct
           AND (priority, vt, id) > (v_after_priority, v_after_vt, v_after_id)
         ORDER BY priority, vt, id LIMIT v_page)
      ) m
      ORDER BY m.priority, m.vt, m.id LIMIT v_page
    LOOP
      v_seen := v_seen + 1;
      v_pos := NULL;
      v_after_priority := c.priority;
      v_after_vt := c.vt;
      v_after_id := c.id;
      IF v_q.key_concurrency IS NOT NULL AND c.concurrency_key IS NOT NULL THEN
        v_pos := array_position(v_keys, c.concurrency_key);
        IF v_pos IS NULL THEN
          -- Shared queue lock: the key's transaction-scoped advisory lock (hash of the queue
          -- table's oid, i.e. the schema, and the queue id; hash of the key: advisory locks
          -- are database-wide) makes this call the
          -- only one deciding about the key until it commits; the count below is a later
          -- statement, so its snapshot sees every lease committed by the lock's previous
          -- holder. A key another call is deciding now is skipped (so is one whose hashes
          -- collide with it: skipping never breaks a limit).
          IF NOT v_keyed OR pg_try_advisory_xact_lock(hashtext(v_q.tableoid || '.' || v_q.id),
                                                      hashtext(c.concurrency_key)) THEN
            SELECT count(*) INTO v_n FROM {s}.pgqrs_messages
            WHERE queue_id = v_q.id AND concurrency_key = c.concurrency_key
              AND archived_at IS NULL AND dead_at IS NULL
              AND consumer_worker_id IS NOT NULL AND vt > p_now;
          ELSE
            v_n := v_q.key_concurrency;
          END IF;
          v_keys := v_keys || c.concurrency_key;
          v_held := v_held || v_n;
          v_pos := cardinality(v_keys);
        END IF;
        CONTINUE WHEN v_held[v_pos] >= v_q.key_concurrency;
      END IF;
      IF v_pos IS NOT NULL THEN
        v_held[v_pos] := v_held[v_pos] + 1;
      END IF;
      v_picked := v_picked || c.id;
      EXIT pages WHEN cardinality(v_picked) >= v_budget;
    END LOOP;
    EXIT WHEN v_seen < v_page;
    v_page := v_page * 2;
  END LOOP;
  IF v_keyed AND cardinality(v_picked) > 0 THEN
    -- Side by side with other calls: keep only the rows nobody else holds that are still
    -- deliverable in their newest version (re-checked under the row lock). A keyed row is
    -- only ever taken under its key's lock, which this call holds; this settles the rest.
    SELECT coalesce(array_agg(id ORDER BY array_position(v_picked, id)), '{}') INTO v_picked
    FROM (SELECT id FROM {s}.pgqrs_messages
          WHERE id = ANY (v_picked) AND archived_at IS NULL AND dead_at IS NULL
            AND vt <= p_now
          FOR UPDATE SKIP LOCKED) AS held;
  END IF;

  RETURN QUERY
  WITH l AS (
         UPDATE {s}.pgqrs_messages
         SET vt = p_vt, read_ct = read_ct + 1, dequeued_at = p_now,
             consumer_worker_id = p_consumer
         WHERE id = ANY (v_picked) AND archived_at IS NULL AND dead_at IS NULL AND vt <= p_now
         RETURNING id, queue_id, payload, vt, enqueued_at, read_ct, dequeued_at,
                   producer_worker_id, consumer_worker_id, archived_at, dead_at, priority,
                   dedup_key, concurrency_key, traceparent, tracestate),
       r AS (INSERT INTO {s}.pgqrs_rate_leases (queue_id, leased_at)
             SELECT v_q.id, p_now FROM l WHERE v_q.rate_limit IS NOT NULL)
  SELECT v_q.id, v_status, v_dead,
         v_q.concurrency IS NULL AND v_q.worker_concurrency IS NULL
           AND v_q.key_concurrency IS NULL AND v_q.rate_limit IS NULL,
         v_archived, l.*
  FROM (SELECT 1) AS one LEFT JOIN l ON true
  ORDER BY array_position(v_picked, l.id);
END
$fn$;
)sql";

const char kDropHotPath[] = R"sql(
DROP FUNCTION IF EXISTS {s}.pgqrs_lease_limited(text, timestamptz, timestamptz, bigint, integer,
                                                bigint, bigint[]))sql";

}  // namespace pgqrs::pg
