#include "backend/sqlite_family/migrations.h"

#include <array>
#include <chrono>
#include <string>

#include "backend/schema_catalog.h"
#include "backend/sqlite_family/lookups.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kCreateVersionTable[] = R"sql(
CREATE TABLE IF NOT EXISTS pgqrs_schema_version (
  version     INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at  INTEGER NOT NULL
))sql";

constexpr char kCurrentVersion[] = "SELECT MAX(version) FROM pgqrs_schema_version";
constexpr char kRecordVersion[] =
    "INSERT INTO pgqrs_schema_version (version, description, applied_at) VALUES (?1, ?2, ?3)";

// Version 1: queues, workers, messages, and the workflow tables.
// Times are INTEGER microseconds since the Unix epoch. `payload`, `input`, `output` and
// `error` hold serialised JSON text.
constexpr char kMigration1[] = R"sql(
CREATE TABLE pgqrs_queues (
  id         INTEGER PRIMARY KEY,
  queue_name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX pgqrs_queues_name_idx ON pgqrs_queues (queue_name);

CREATE TABLE pgqrs_workers (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('producer', 'consumer', 'admin')),
  queue_id     INTEGER REFERENCES pgqrs_queues (id),
  hostname     TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  status       TEXT NOT NULL
               CHECK (status IN ('ready', 'polling', 'suspended', 'interrupted', 'stopped')),
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  shutdown_at  INTEGER
);
CREATE INDEX pgqrs_workers_queue_idx ON pgqrs_workers (queue_id, status);

CREATE TABLE pgqrs_messages (
  id                 INTEGER PRIMARY KEY,
  queue_id           INTEGER NOT NULL REFERENCES pgqrs_queues (id),
  payload            TEXT NOT NULL,
  vt                 INTEGER NOT NULL,
  enqueued_at        INTEGER NOT NULL,
  read_ct            INTEGER NOT NULL DEFAULT 0,
  dequeued_at        INTEGER,
  producer_worker_id INTEGER REFERENCES pgqrs_workers (id),
  consumer_worker_id INTEGER REFERENCES pgqrs_workers (id),
  archived_at        INTEGER,
  dead_at            INTEGER
);
-- Dequeue: live messages of a queue in delivery order (vt, id).
CREATE INDEX pgqrs_messages_dequeue_idx ON pgqrs_messages (queue_id, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL;
-- Dead-letter sweep of dequeue: the few live messages already delivered max_read_ct times.
CREATE INDEX pgqrs_messages_redelivery_idx ON pgqrs_messages (queue_id, read_ct)
  WHERE archived_at IS NULL AND dead_at IS NULL;
-- All rows of a queue, newest first (SQLite appends the rowid = id to every index).
CREATE INDEX pgqrs_messages_queue_idx ON pgqrs_messages (queue_id);
-- Leases held by a worker; references checked before deleting a worker.
CREATE INDEX pgqrs_messages_consumer_idx ON pgqrs_messages (consumer_worker_id)
  WHERE consumer_worker_id IS NOT NULL;
CREATE INDEX pgqrs_messages_producer_idx ON pgqrs_messages (producer_worker_id)
  WHERE producer_worker_id IS NOT NULL;

CREATE TABLE pgqrs_workflows (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  queue_id   INTEGER NOT NULL REFERENCES pgqrs_queues (id),
  created_at INTEGER NOT NULL
);

CREATE TABLE pgqrs_workflow_runs (
  id          INTEGER PRIMARY KEY,
  workflow_id INTEGER NOT NULL REFERENCES pgqrs_workflows (id),
  message_id  INTEGER REFERENCES pgqrs_messages (id) ON DELETE SET NULL,
  status      TEXT NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING',
                                              'CANCELLED', 'SUCCESS', 'ERROR')),
  input       TEXT,
  output      TEXT,
  error       TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
-- list_runs newest first, all runs or those of one workflow (SQLite appends id to each
-- index, so both serve ORDER BY created_at DESC, id DESC without a sort).
CREATE INDEX pgqrs_workflow_runs_created_idx ON pgqrs_workflow_runs (created_at);
CREATE INDEX pgqrs_workflow_runs_workflow_idx ON pgqrs_workflow_runs (workflow_id, created_at);
-- The run of a dequeued message; ON DELETE SET NULL of its message.
CREATE INDEX pgqrs_workflow_runs_message_idx ON pgqrs_workflow_runs (message_id);

CREATE TABLE pgqrs_workflow_steps (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES pgqrs_workflow_runs (id) ON DELETE CASCADE,
  step_name   TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'PAUSED', 'CANCELLING',
                                              'CANCELLED', 'SUCCESS', 'ERROR')),
  input       TEXT,
  output      TEXT,
  error       TEXT,
  retry_at    INTEGER,
  retry_count INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (run_id, step_name)
);
)sql";

// Version 2: flow control (issue 14); the same shape as the Postgres step 2 (see the
// comment there). Durations are INTEGER microseconds, NULL = unset.
constexpr char kMigration2[] = R"sql(
ALTER TABLE pgqrs_queues ADD COLUMN concurrency INTEGER;
ALTER TABLE pgqrs_queues ADD COLUMN worker_concurrency INTEGER;
ALTER TABLE pgqrs_queues ADD COLUMN key_concurrency INTEGER;
ALTER TABLE pgqrs_queues ADD COLUMN rate_limit INTEGER;
ALTER TABLE pgqrs_queues ADD COLUMN rate_period_us INTEGER;
ALTER TABLE pgqrs_queues ADD COLUMN retain_archived_us INTEGER;
ALTER TABLE pgqrs_queues ADD COLUMN retain_dead_us INTEGER;
ALTER TABLE pgqrs_messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pgqrs_messages ADD COLUMN dedup_key TEXT;
ALTER TABLE pgqrs_messages ADD COLUMN concurrency_key TEXT;
DROP INDEX pgqrs_messages_dequeue_idx;
CREATE INDEX pgqrs_messages_dequeue_idx ON pgqrs_messages (queue_id, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL AND priority = 0;
CREATE INDEX pgqrs_messages_priority_idx ON pgqrs_messages (queue_id, priority, vt, id)
  WHERE archived_at IS NULL AND dead_at IS NULL AND priority <> 0;
CREATE UNIQUE INDEX pgqrs_messages_dedup_idx ON pgqrs_messages (queue_id, dedup_key)
  WHERE dedup_key IS NOT NULL AND archived_at IS NULL AND dead_at IS NULL;
CREATE INDEX pgqrs_messages_ckey_idx ON pgqrs_messages (queue_id, concurrency_key)
  WHERE concurrency_key IS NOT NULL AND archived_at IS NULL AND dead_at IS NULL;
CREATE TABLE pgqrs_rate_leases (
  queue_id  INTEGER NOT NULL,
  leased_at INTEGER NOT NULL
);
CREATE INDEX pgqrs_rate_leases_idx ON pgqrs_rate_leases (queue_id, leased_at);
)sql";

// Schedules and retention (issue 14 part B; self-contained, so a renumber only moves it).
// A schedule's tick is claimed by a compare-and-set of next_fire_at; the maintenance leases
// let one pruner run at a time; the partial indexes serve the bounded prune deletes.
constexpr char kMigrationSchedules[] = R"sql(
CREATE TABLE pgqrs_schedules (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  cron         TEXT,
  every_us     INTEGER,
  time_zone    TEXT NOT NULL,
  target_kind  TEXT NOT NULL CHECK (target_kind IN ('queue', 'workflow')),
  target       TEXT NOT NULL,
  payload      TEXT NOT NULL,
  catch_up     TEXT NOT NULL CHECK (catch_up IN ('none', 'last', 'all')),
  paused       INTEGER NOT NULL DEFAULT 0,
  next_fire_at INTEGER NOT NULL,
  last_fire_at INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  CHECK ((cron IS NULL) <> (every_us IS NULL))
);
CREATE INDEX pgqrs_schedules_due_idx ON pgqrs_schedules (next_fire_at) WHERE paused = 0;

CREATE TABLE pgqrs_maintenance_leases (
  name        TEXT PRIMARY KEY,
  holder      TEXT NOT NULL,
  lease_until INTEGER NOT NULL
);

ALTER TABLE pgqrs_workflows ADD COLUMN retain_finished_us INTEGER;

CREATE INDEX pgqrs_messages_prune_archived_idx ON pgqrs_messages (queue_id, archived_at)
  WHERE archived_at IS NOT NULL;
CREATE INDEX pgqrs_messages_prune_dead_idx ON pgqrs_messages (queue_id, dead_at)
  WHERE dead_at IS NOT NULL;
CREATE INDEX pgqrs_workflow_runs_prune_idx ON pgqrs_workflow_runs (workflow_id, updated_at)
  WHERE status IN ('SUCCESS', 'ERROR', 'CANCELLED');
)sql";

// Version 4, tracing (issue 16): the W3C trace context stored with each message at enqueue;
// NULL for messages without one (and for every message enqueued before this step).
constexpr char kMigrationTraceContext[] = R"sql(
ALTER TABLE pgqrs_messages ADD COLUMN traceparent TEXT;
ALTER TABLE pgqrs_messages ADD COLUMN tracestate TEXT;
)sql";

// Archived counters (issue 16, W8): per-queue archived totals kept by the archive, prune and
// purge statements in their write transaction, so a scrape never counts history. One writer at
// a time here, so one stripe (0); the layout matches Postgres. Backfilled at upgrade.
constexpr char kMigrationArchivedCounts[] = R"sql(
CREATE TABLE pgqrs_archived_counts (
  queue_id INTEGER NOT NULL REFERENCES pgqrs_queues (id) ON DELETE CASCADE,
  stripe   INTEGER NOT NULL,
  n        INTEGER NOT NULL,
  PRIMARY KEY (queue_id, stripe)
);
INSERT INTO pgqrs_archived_counts (queue_id, stripe, n)
SELECT queue_id, 0, COUNT(*) FROM pgqrs_messages WHERE archived_at IS NOT NULL
GROUP BY queue_id;
)sql";

// Postgres hot path (issues 14 and 17): nothing changes in the SQLite family's storage.
constexpr char kMigrationHotPath[] = "-- Postgres only (pgqrs_lease_limited); nothing here.\n";
// Version 8, held leases out of the Postgres dequeue indexes: Postgres only as well.
constexpr char kMigrationHeldLeases[] =
    "-- Postgres only (dequeue index predicates); nothing here.\n";
// Version 9, no whole-history worker indexes on Postgres messages: Postgres only too (an
// SQLite UPDATE rewrites only the index entries whose columns it changes, so the consumer and
// producer indexes here cost nothing on a lease or an archive).
constexpr char kMigrationWorkerIndexes[] =
    "-- Postgres only (consumer and producer indexes); nothing here.\n";
// Version 10, the Postgres dead sweep reads only returned messages: Postgres only as well (a
// lease changes read_ct, so it rewrites this family's redelivery entry either way; the sweep
// here keeps reading pgqrs_messages_redelivery_idx).
constexpr char kMigrationReturnedMessages[] =
    "-- Postgres only (the redelivery index); nothing here.\n";

// Version 7, workflow coordination (issue 15; backend/capabilities/coordination.h). Child
// runs name their parent run and the parent's step that started them (unique: a replayed
// start_child finds its child). A message to a run is unread until a recv step takes it
// (received_step; unique per run, so a replayed recv finds its message); a workflow's send
// carries a send_key so a replayed send stores nothing. Events, stream items and stream ends
// are one append-only table; write_key (the writing step) makes a replayed write a no-op.
// Deleting a run (retention) deletes its messages and events; its children keep running.
// waiting_children: while a parent waits for children, how many of them have not ended yet;
// each child's end counts it down and the parent is woken at 0 (or when a child fails).
// app_version (safe upgrades): the version that triggered a run / that a worker runs (NULL:
// unversioned).
constexpr char kMigrationCoordination[] = R"sql(
ALTER TABLE pgqrs_workflow_runs ADD COLUMN parent_run_id INTEGER
  REFERENCES pgqrs_workflow_runs (id) ON DELETE SET NULL;
ALTER TABLE pgqrs_workflow_runs ADD COLUMN parent_step TEXT;
ALTER TABLE pgqrs_workflow_runs ADD COLUMN waiting_children INTEGER;
ALTER TABLE pgqrs_workflow_runs ADD COLUMN app_version TEXT;
ALTER TABLE pgqrs_workers ADD COLUMN app_version TEXT;
CREATE UNIQUE INDEX pgqrs_workflow_runs_parent_idx
  ON pgqrs_workflow_runs (parent_run_id, parent_step) WHERE parent_run_id IS NOT NULL;

CREATE TABLE pgqrs_run_messages (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES pgqrs_workflow_runs (id) ON DELETE CASCADE,
  topic         TEXT NOT NULL,
  payload       TEXT NOT NULL,
  send_key      TEXT,
  created_at    INTEGER NOT NULL,
  received_at   INTEGER,
  received_step TEXT
);
CREATE INDEX pgqrs_run_messages_run_idx ON pgqrs_run_messages (run_id, id);
CREATE INDEX pgqrs_run_messages_unread_idx ON pgqrs_run_messages (run_id, topic, id)
  WHERE received_step IS NULL;
CREATE UNIQUE INDEX pgqrs_run_messages_received_idx ON pgqrs_run_messages (run_id, received_step)
  WHERE received_step IS NOT NULL;
CREATE UNIQUE INDEX pgqrs_run_messages_send_key_idx ON pgqrs_run_messages (send_key)
  WHERE send_key IS NOT NULL;

CREATE TABLE pgqrs_run_events (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES pgqrs_workflow_runs (id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('event', 'stream', 'stream_end')),
  event_key  TEXT NOT NULL,
  value      TEXT,
  write_key  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (run_id, write_key)
);
CREATE INDEX pgqrs_run_events_key_idx ON pgqrs_run_events (run_id, event_key, id);
)sql";

// The SQL of each schema step (backend/schema_catalog.h), indexed by version - 1.
constexpr std::array<std::string_view, 10> kMigrationSql{kMigration1,
                                                         kMigration2,
                                                         kMigrationSchedules,
                                                         kMigrationTraceContext,
                                                         kMigrationArchivedCounts,
                                                         kMigrationHotPath,
                                                         kMigrationCoordination,
                                                         kMigrationHeldLeases,
                                                         kMigrationWorkerIndexes,
                                                         kMigrationReturnedMessages};
static_assert(kMigrationSql.size() == backend::kSchemaVersion,
              "every schema step needs its SQLite text");

// Children before parents, so that foreign keys never block a DROP.
constexpr char kDropAll[] = R"sql(
DROP TABLE IF EXISTS pgqrs_run_events;
DROP TABLE IF EXISTS pgqrs_run_messages;
DROP TABLE IF EXISTS pgqrs_archived_counts;
DROP TABLE IF EXISTS pgqrs_rate_leases;
DROP TABLE IF EXISTS pgqrs_schedules;
DROP TABLE IF EXISTS pgqrs_maintenance_leases;
DROP TABLE IF EXISTS pgqrs_workflow_steps;
DROP TABLE IF EXISTS pgqrs_workflow_runs;
DROP TABLE IF EXISTS pgqrs_workflows;
DROP TABLE IF EXISTS pgqrs_messages;
DROP TABLE IF EXISTS pgqrs_workers;
DROP TABLE IF EXISTS pgqrs_queues;
DROP TABLE IF EXISTS pgqrs_schema_version;
)sql";

std::int32_t current_version(Session& s) {
  auto q = s.query(kCurrentVersion);
  if (!q.step() || q.is_null(0)) return 0;
  return static_cast<std::int32_t>(q.int64(0));
}

}  // namespace

void install_schema(Executor& exec, std::int32_t up_to) {
  for (const backend::SchemaStep& m : backend::schema_steps()) {
    if (m.version > up_to) break;
    exec.write("install", [&](Session& s) {
      s.exec(kCreateVersionTable);
      if (current_version(s) >= m.version) return;
      s.exec(kMigrationSql[m.version - 1]);
      // applied_at is bookkeeping for operators, not queue semantics: wall clock is fine.
      s.query(kRecordVersion)
          .bind(m.version)
          .bind(m.description)
          .bind(std::chrono::system_clock::now())
          .execute();
    });
  }
}

std::optional<std::int32_t> read_schema_version(Session& s) {
  if (!table_exists(s, "pgqrs_schema_version")) return std::nullopt;
  const std::int32_t version = current_version(s);
  if (version == 0) return std::nullopt;
  for (std::string_view table : backend::tables_up_to(version)) {
    if (!table_exists(s, table)) backend::throw_incomplete_schema(table, version);
  }
  return version;
}

std::string_view migration_sql(std::int32_t version) { return kMigrationSql.at(version - 1); }
std::string_view version_table_sql() { return kCreateVersionTable; }

void uninstall_schema(Executor& exec) {
  exec.write("uninstall", [](Session& s) { s.exec(kDropAll); });
}

}  // namespace pgqrs::sqlite_family
