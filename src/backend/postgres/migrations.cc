#include "backend/postgres/migrations.h"

#include <array>
#include <string>
#include <tuple>
#include <vector>

#include "backend/postgres/migration_hot_path.h"
#include "backend/schema_catalog.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

constexpr char kLockInstall[] = "SELECT pg_advisory_xact_lock(hashtext($1))";

constexpr char kCreateVersionTable[] = R"sql(
CREATE TABLE IF NOT EXISTS {s}.pgqrs_schema_version (
  version     integer PRIMARY KEY,
  description text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
))sql";

constexpr char kCurrentVersion[] =
    "SELECT coalesce(max(version), 0)::int8 FROM {s}.pgqrs_schema_version";
constexpr char kRecordVersion[] =
    "INSERT INTO {s}.pgqrs_schema_version (version, description) VALUES ($1, $2)";
constexpr char kRegclass[] = "SELECT to_regclass($1) IS NOT NULL";
constexpr char kMissingTables[] =
    "SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL";

// Version 1: queues, workers, messages, and the workflow tables.
// Times are timestamptz (microseconds); payload/input/output/error are jsonb.
constexpr char kMigration1[] = R"sql(
CREATE TABLE {s}.pgqrs_queues (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue_name text NOT NULL,
  created_at timestamptz NOT NULL,
  CONSTRAINT pgqrs_queues_name_key UNIQUE (queue_name)
);

CREATE TABLE {s}.pgqrs_workers (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('producer', 'consumer', 'admin')),
  queue_id     bigint REFERENCES {s}.pgqrs_queues (id),
  hostname     text NOT NULL,
  pid          bigint NOT NULL,
  status       text NOT NULL
               CHECK (status IN ('ready', 'polling', 'suspended', 'interrupted', 'stopped')),
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  shutdown_at  timestamptz
);
CREATE INDEX pgqrs_workers_queue_idx ON {s}.pgqrs_workers (queue_id, status);

-- No foreign keys on the three id columns: a foreign key costs a trigger call per row on
-- every lease (a third of a dequeue's execution time, measured). The same integrity comes
-- from row locks taken once per statement: enqueue KEY SHARE-locks the queue and producer
-- rows, dequeue SHARE-locks the consumer row, and delete_queue / delete_worker lock the row
-- FOR UPDATE before checking that no message refers to it (docs/postgres.md).
CREATE TABLE {s}.pgqrs_messages (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue_id           bigint NOT NULL,
  payload            jsonb NOT NULL,
  vt                 timestamptz NOT NULL,
  enqueued_at        timestamptz NOT NULL,
  read_ct            integer NOT NULL DEFAULT 0,
  dequeued_at        timestamptz,
  producer_worker_id bigint,
  consumer_worker_id bigint,
  archived_at        timestamptz,
  dead_at            timestamptz
);
-- Dequeue: live messages of a queue in delivery order (vt, id); also leased/pending counts.
CREATE INDEX pgqrs_messages_dequeue_idx ON {s}.pgqrs_messages (queue_id, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL;
-- Dead-letter sweep of dequeue: the few live messages already delivered max_read_ct times.
CREATE INDEX pgqrs_messages_redelivery_idx ON {s}.pgqrs_messages (queue_id, read_ct)
  WHERE archived_at IS NULL AND dead_at IS NULL;
-- All rows of a queue, newest first (list, purge, "queue has messages").
CREATE INDEX pgqrs_messages_queue_idx ON {s}.pgqrs_messages (queue_id, id);
-- Leases held by a worker; references checked before deleting a worker.
CREATE INDEX pgqrs_messages_consumer_idx ON {s}.pgqrs_messages (consumer_worker_id)
  WHERE consumer_worker_id IS NOT NULL;
CREATE INDEX pgqrs_messages_producer_idx ON {s}.pgqrs_messages (producer_worker_id)
  WHERE producer_worker_id IS NOT NULL;
-- Dead letters.
CREATE INDEX pgqrs_messages_dead_idx ON {s}.pgqrs_messages (queue_id, id)
  WHERE dead_at IS NOT NULL;

CREATE TABLE {s}.pgqrs_workflows (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  queue_id   bigint NOT NULL REFERENCES {s}.pgqrs_queues (id),
  created_at timestamptz NOT NULL
);

CREATE TABLE {s}.pgqrs_workflow_runs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workflow_id bigint NOT NULL REFERENCES {s}.pgqrs_workflows (id),
  message_id  bigint REFERENCES {s}.pgqrs_messages (id) ON DELETE SET NULL,
  status      text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING',
                                              'CANCELLED', 'SUCCESS', 'ERROR')),
  input       jsonb,
  output      jsonb,
  error       jsonb,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX pgqrs_workflow_runs_workflow_idx ON {s}.pgqrs_workflow_runs (workflow_id, status);
CREATE INDEX pgqrs_workflow_runs_message_idx ON {s}.pgqrs_workflow_runs (message_id);
-- Run records, newest first (list_runs).
CREATE INDEX pgqrs_workflow_runs_created_idx ON {s}.pgqrs_workflow_runs (created_at, id);

CREATE TABLE {s}.pgqrs_workflow_steps (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id      bigint NOT NULL REFERENCES {s}.pgqrs_workflow_runs (id) ON DELETE CASCADE,
  step_name   text NOT NULL,
  status      text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING',
                                              'CANCELLED', 'SUCCESS', 'ERROR')),
  input       jsonb,
  output      jsonb,
  error       jsonb,
  retry_at    timestamptz,
  retry_count integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  UNIQUE (run_id, step_name)
);
)sql";

// Version 2: flow control (issue 14; docs/flow-control.md). Self-contained: only the
// queue options, the per-message flow fields, their indexes and the rate-limit window.
//  - queue options: NULL = unset (no limit / keep forever); durations in microseconds;
//  - the dequeue index is split by priority: every priority-0 message (the common case) is
//    in pgqrs_messages_dequeue_idx exactly as before, so an unprioritised queue's dequeue is
//    unchanged; the others are in pgqrs_messages_priority_idx (queue_id, priority, vt, id);
//  - dedup: at most one LIVE message per (queue, dedup_key), enforced by a unique index;
//  - pgqrs_rate_leases: one row per lease of a rate-limited queue within the current
//    period (the sliding-window log; rows older than the period are deleted by dequeue).
constexpr char kMigration2[] = R"sql(
ALTER TABLE {s}.pgqrs_queues
  ADD COLUMN concurrency        bigint,
  ADD COLUMN worker_concurrency bigint,
  ADD COLUMN key_concurrency    bigint,
  ADD COLUMN rate_limit         bigint,
  ADD COLUMN rate_period_us     bigint,
  ADD COLUMN retain_archived_us bigint,
  ADD COLUMN retain_dead_us     bigint;
ALTER TABLE {s}.pgqrs_messages
  ADD COLUMN priority        integer NOT NULL DEFAULT 0,
  ADD COLUMN dedup_key       text,
  ADD COLUMN concurrency_key text;
DROP INDEX {s}.pgqrs_messages_dequeue_idx;
CREATE INDEX pgqrs_messages_dequeue_idx ON {s}.pgqrs_messages (queue_id, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL AND priority = 0;
CREATE INDEX pgqrs_messages_priority_idx ON {s}.pgqrs_messages (queue_id, priority, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL AND priority <> 0;
CREATE UNIQUE INDEX pgqrs_messages_dedup_idx ON {s}.pgqrs_messages (queue_id, dedup_key)
  WHERE dedup_key IS NOT NULL AND archived_at IS NULL AND dead_at IS NULL;
CREATE INDEX pgqrs_messages_ckey_idx ON {s}.pgqrs_messages (queue_id, concurrency_key)
  WHERE concurrency_key IS NOT NULL AND archived_at IS NULL AND dead_at IS NULL;
CREATE TABLE {s}.pgqrs_rate_leases (
  queue_id  bigint NOT NULL,
  leased_at timestamptz NOT NULL
);
CREATE INDEX pgqrs_rate_leases_idx ON {s}.pgqrs_rate_leases (queue_id, leased_at);
)sql";

// Schedules and retention (issue 14 part B; self-contained, so a renumber only moves it).
// A schedule's tick is claimed by a compare-and-set of next_fire_at; the maintenance leases
// let one pruner run at a time; the partial indexes serve the bounded prune deletes.
constexpr char kMigrationSchedules[] = R"sql(
CREATE TABLE {s}.pgqrs_schedules (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  cron         text,
  every_us     bigint,
  time_zone    text NOT NULL,
  target_kind  text NOT NULL CHECK (target_kind IN ('queue', 'workflow')),
  target       text NOT NULL,
  payload      jsonb NOT NULL,
  catch_up     text NOT NULL CHECK (catch_up IN ('none', 'last', 'all')),
  paused       integer NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  next_fire_at timestamptz NOT NULL,
  last_fire_at timestamptz,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  CHECK ((cron IS NULL) <> (every_us IS NULL))
);
CREATE INDEX pgqrs_schedules_due_idx ON {s}.pgqrs_schedules (next_fire_at) WHERE paused = 0;

CREATE TABLE {s}.pgqrs_maintenance_leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  lease_until timestamptz NOT NULL
);

ALTER TABLE {s}.pgqrs_workflows ADD COLUMN retain_finished_us bigint;

CREATE INDEX pgqrs_messages_prune_archived_idx ON {s}.pgqrs_messages (queue_id, archived_at)
  WHERE archived_at IS NOT NULL;
CREATE INDEX pgqrs_messages_prune_dead_idx ON {s}.pgqrs_messages (queue_id, dead_at)
  WHERE dead_at IS NOT NULL;
CREATE INDEX pgqrs_workflow_runs_prune_idx ON {s}.pgqrs_workflow_runs (workflow_id, updated_at)
  WHERE status IN ('SUCCESS', 'ERROR', 'CANCELLED');
)sql";

// Version 4, tracing (issue 16): the W3C trace context stored with each message at enqueue;
// NULL for messages without one (and for every message enqueued before this step).
constexpr char kMigrationTraceContext[] = R"sql(
ALTER TABLE {s}.pgqrs_messages ADD COLUMN traceparent text, ADD COLUMN tracestate text;
)sql";

// Archived counters (issue 16, W8): per-queue archived totals kept by the archive, prune and
// purge statements, so a scrape never counts history. Striped rows (stripe = worker id % 16,
// 0 for prune/purge decrements) keep concurrent consumers of one queue off a single row; the
// count is sum(n) over a queue's rows. Backfilled from the rows archived at upgrade time.
constexpr char kMigrationArchivedCounts[] = R"sql(
CREATE TABLE {s}.pgqrs_archived_counts (
  queue_id bigint NOT NULL REFERENCES {s}.pgqrs_queues (id) ON DELETE CASCADE,
  stripe   smallint NOT NULL,
  n        bigint NOT NULL,
  PRIMARY KEY (queue_id, stripe)
);
INSERT INTO {s}.pgqrs_archived_counts (queue_id, stripe, n)
SELECT queue_id, 0, count(*) FROM {s}.pgqrs_messages WHERE archived_at IS NOT NULL
GROUP BY queue_id;
)sql";

// Version 7, workflow coordination (issue 15): the SQLite family's step 7 (see the comment
// there) in Postgres types.
constexpr char kMigrationCoordination[] = R"sql(
ALTER TABLE {s}.pgqrs_workflow_runs
  ADD COLUMN parent_run_id bigint REFERENCES {s}.pgqrs_workflow_runs (id) ON DELETE SET NULL,
  ADD COLUMN parent_step text,
  ADD COLUMN waiting_children integer,
  ADD COLUMN app_version text;
ALTER TABLE {s}.pgqrs_workers ADD COLUMN app_version text;
CREATE UNIQUE INDEX pgqrs_workflow_runs_parent_idx
  ON {s}.pgqrs_workflow_runs (parent_run_id, parent_step) WHERE parent_run_id IS NOT NULL;

CREATE TABLE {s}.pgqrs_run_messages (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id        bigint NOT NULL REFERENCES {s}.pgqrs_workflow_runs (id) ON DELETE CASCADE,
  topic         text NOT NULL,
  payload       jsonb NOT NULL,
  send_key      text,
  created_at    timestamptz NOT NULL,
  received_at   timestamptz,
  received_step text
);
CREATE INDEX pgqrs_run_messages_run_idx ON {s}.pgqrs_run_messages (run_id, id);
CREATE INDEX pgqrs_run_messages_unread_idx ON {s}.pgqrs_run_messages (run_id, topic, id)
  WHERE received_step IS NULL;
CREATE UNIQUE INDEX pgqrs_run_messages_received_idx
  ON {s}.pgqrs_run_messages (run_id, received_step) WHERE received_step IS NOT NULL;
CREATE UNIQUE INDEX pgqrs_run_messages_send_key_idx ON {s}.pgqrs_run_messages (send_key)
  WHERE send_key IS NOT NULL;

CREATE TABLE {s}.pgqrs_run_events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id     bigint NOT NULL REFERENCES {s}.pgqrs_workflow_runs (id) ON DELETE CASCADE,
  kind       text NOT NULL CHECK (kind IN ('event', 'stream', 'stream_end')),
  event_key  text NOT NULL,
  value      jsonb,
  write_key  text NOT NULL,
  created_at timestamptz NOT NULL,
  UNIQUE (run_id, write_key)
);
CREATE INDEX pgqrs_run_events_key_idx ON {s}.pgqrs_run_events (run_id, event_key, id);

-- Only leased rows count against key_concurrency (F13): the key index holds just those,
-- so a key's count reads its leases, not its whole backlog, and enqueues skip the index.
DROP INDEX {s}.pgqrs_messages_ckey_idx;
CREATE INDEX pgqrs_messages_ckey_idx ON {s}.pgqrs_messages (queue_id, concurrency_key)
  WHERE concurrency_key IS NOT NULL AND consumer_worker_id IS NOT NULL
    AND archived_at IS NULL AND dead_at IS NULL;
)sql";

// Version 8, held leases out of the dequeue indexes (issues 14 and 17; decision P10). A lease
// sets consumer_worker_id, so its row version leaves pgqrs_messages_dequeue_idx and
// pgqrs_messages_priority_idx (which now hold the messages nobody holds: pending and delayed)
// for pgqrs_messages_held_idx (held leases, and expired ones until they are leased again or
// dead-lettered). A consumed priority then leaves only entries of its original row versions
// behind in the priority index, which the first scan that meets them marks dead; before, the
// leased versions sat there with a future vt that the index condition rejects, so no scan
// ever marked them, and every dequeue walked them. pgqrs_messages_redelivery_idx still holds
// every live message: the metrics read the live rows through it.
constexpr char kMigrationHeldLeases[] = R"sql(
DROP INDEX {s}.pgqrs_messages_dequeue_idx;
CREATE INDEX pgqrs_messages_dequeue_idx ON {s}.pgqrs_messages (queue_id, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL AND priority = 0
    AND consumer_worker_id IS NULL;
DROP INDEX {s}.pgqrs_messages_priority_idx;
CREATE INDEX pgqrs_messages_priority_idx ON {s}.pgqrs_messages (queue_id, priority, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL AND priority <> 0
    AND consumer_worker_id IS NULL;
CREATE INDEX pgqrs_messages_held_idx ON {s}.pgqrs_messages (queue_id, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL AND consumer_worker_id IS NOT NULL;
)sql";

// Version 9, no whole-history worker indexes on messages (issue 17; decision P11). A lease and
// an archive are never HOT updates, so each new row version got an entry in
// pgqrs_messages_consumer_idx and pgqrs_messages_producer_idx whenever the column was set: 1.6
// btree inserts per drained message without a producer, 3.6 with one (every Producer sets
// it), for indexes that only worker bookkeeping read. Those reads now go elsewhere:
//  - a worker's held leases (leased_messages, release, zombie reclaim): pgqrs_messages_held_idx,
//    one descent per queue (the held leases of the whole database: in-flight work);
//  - "does any message refer to this worker" (delete_worker, purge_old_workers, delete_queue's
//    stopped workers): one sequential scan per call, admin work whose answer must cover the
//    whole history (archived and dead messages keep their worker ids).
constexpr char kMigrationWorkerIndexes[] = R"sql(
DROP INDEX {s}.pgqrs_messages_consumer_idx;
DROP INDEX {s}.pgqrs_messages_producer_idx;
)sql";

// Version 10, the dead sweep reads only returned messages (issue 17; decision P12).
// pgqrs_messages_redelivery_idx held every live row, so each lease (never a HOT update) added
// an entry for its new row version, for a sweep that looks for the few live rows delivered
// max_read_ct times. Such a row is either an expired lease (pgqrs_messages_held_idx already
// holds it) or a message returned to the queue with read_ct > 0 (released, reclaimed, nacked,
// or put back by a workflow sleep): the new index holds only those. The sweep of
// pgqrs_lease_limited follows (dead_sweep_sql.h), and the live-row metrics read the three
// partial indexes that cover the live rows (dequeue, priority, held).
constexpr char kMigrationReturnedMessages[] = R"sql(
DROP INDEX {s}.pgqrs_messages_redelivery_idx;
CREATE INDEX pgqrs_messages_returned_idx ON {s}.pgqrs_messages (queue_id, read_ct)
  WHERE archived_at IS NULL AND dead_at IS NULL AND consumer_worker_id IS NULL AND read_ct > 0;
)sql";

// The SQL of each schema step (backend/schema_catalog.h), indexed by version - 1: templates
// with {s} for the schema (sql_text.h), run in order. Step 7 (not released before it) also
// re-creates pgqrs_lease_limited, whose rate window was corrected then (F12): a database
// upgraded from step 6 gets the corrected function, a fresh one creates it twice. Step 8
// re-creates it again: its candidate scans follow the step's indexes; step 10 for its sweep.
const std::array<std::vector<const char*>, 10> kMigrationSql{
    {{kMigration1},
     {kMigration2},
     {kMigrationSchedules},
     {kMigrationTraceContext},
     {kMigrationArchivedCounts},
     {kMigrationHotPath},
     {kMigrationCoordination, kMigrationHotPath},
     {kMigrationHeldLeases, kMigrationHotPath},
     {kMigrationWorkerIndexes},
     {kMigrationReturnedMessages, kMigrationHotPath}}};
static_assert(std::tuple_size_v<decltype(kMigrationSql)> == backend::kSchemaVersion,
              "every schema step needs its Postgres text");

// One statement: foreign keys between the listed tables never block it.
constexpr char kDropAll[] = R"sql(
DROP TABLE IF EXISTS {s}.pgqrs_run_events, {s}.pgqrs_run_messages, {s}.pgqrs_archived_counts, {s}.pgqrs_schedules, {s}.pgqrs_maintenance_leases, {s}.pgqrs_rate_leases,
  {s}.pgqrs_workflow_steps, {s}.pgqrs_workflow_runs, {s}.pgqrs_workflows,
  {s}.pgqrs_messages, {s}.pgqrs_workers, {s}.pgqrs_queues, {s}.pgqrs_schema_version)sql";

std::int32_t current_version(Session& s, StatementCache& sql) {
  auto r = s.exec(sql(kCurrentVersion), Params());
  return static_cast<std::int32_t>(r.int8(0, 0));
}

std::string qualified(const StatementCache& sql, std::string_view table) {
  return sql.quoted_schema() + "." + std::string(table);
}

// ConfigError when the schema already holds pgqrs tables that no version of ours recorded
// (e.g. a database of the original pgqrs package, which has tables of the same names):
// installing over them would fail half-way on "already exists" or mix two layouts.
void refuse_foreign_tables(Session& s, StatementCache& sql) {
  auto r = s.exec(sql(kRegclass), Params().text(qualified(sql, "pgqrs_queues")));
  if (!r.boolean(0, 0)) return;
  throw ConfigError("schema " + sql.quoted_schema() +
                    " already has pgqrs tables (pgqrs_queues) that this pgqrs did not install "
                    "(no pgqrs_schema_version rows; a database of the original pgqrs package?): "
                    "install into another schema (Config schema, or ?schema= in the DSN), or "
                    "drop those tables first");
}

}  // namespace

void install_schema(Executor& exec, StatementCache& sql, const std::string& schema,
                    std::int32_t up_to) {
  exec.transaction(
      "install",
      [&](Session& s) {
        s.exec(sql(kLockInstall), Params().text("pgqrs.install:" + schema));
        s.simple(with_schema(kCreateVersionTable, sql.quoted_schema()));
        std::int32_t version = current_version(s, sql);
        if (version == 0) refuse_foreign_tables(s, sql);
        for (const backend::SchemaStep& m : backend::schema_steps()) {
          if (m.version <= version) continue;
          if (m.version > up_to) break;
          for (const char* text : kMigrationSql[m.version - 1]) {
            s.simple(with_schema(text, sql.quoted_schema()));
          }
          s.exec(sql(kRecordVersion), Params().int4(m.version).text(m.description));
          version = m.version;
        }
      },
      /*idempotent=*/true);
}

std::optional<std::int32_t> read_schema_version(Session& s, StatementCache& sql) {
  {
    auto r = s.exec(sql(kRegclass), Params().text(qualified(sql, "pgqrs_schema_version")));
    if (!r.boolean(0, 0)) return std::nullopt;
  }
  const std::int32_t version = current_version(s, sql);
  if (version == 0) return std::nullopt;
  std::vector<std::string> expected;
  for (std::string_view t : backend::tables_up_to(version)) expected.push_back(qualified(sql, t));
  auto r = s.exec(sql(kMissingTables), Params().text_array(expected));
  if (r.rows() > 0) backend::throw_incomplete_schema(r.text(0, 0), version);
  return version;
}

void uninstall_schema(Executor& exec, StatementCache& sql) {
  exec.transaction(
      "uninstall",
      [&](Session& s) {
        s.simple(with_schema(kDropAll, sql.quoted_schema()));
        s.simple(with_schema(kDropHotPath, sql.quoted_schema()));
      },
      /*idempotent=*/true);
}

}  // namespace pgqrs::pg
