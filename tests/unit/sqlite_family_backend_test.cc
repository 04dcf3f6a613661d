// Unit tests of the SQLite driver behind backend::Backend: what an open does with a bad
// path or a file that is not a database, WAL mode, a tampered schema, and atomicity seen
// through a raw connection. The storage contracts themselves run on every backend in the
// conformance suite (tests/conformance/contract_*). Time is injected, never slept.
#include <fstream>
#include <string>
#include <vector>

#include "backend/sqlite_family/migrations.h"
#include "sqlite_family_test_support.h"

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers
using pgqrs::backend::RunFilter;

// ---- schema -------------------------------------------------------------------------------

TEST(SqliteBackendSchema, MissingTableIsConfigErrorNamingIt) {
  ScratchDir dir;
  const std::string path = dir.file("broken.db");
  auto backend = installed_backend(path);
  raw_connection(path)->exec("DROP TABLE pgqrs_workflow_steps");
  try {
    backend->schema_version();
    FAIL() << "expected ConfigError";
  } catch (const pgqrs::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("pgqrs_workflow_steps"), std::string::npos) << e.what();
  }
}

TEST(SqliteBackendSchema, FileDatabaseUsesWalAndIsSharedBetweenBackends) {
  ScratchDir dir;
  const std::string path = dir.file("shared.db");
  auto first = installed_backend(path);
  first->create_queue("shared", kT0);
  auto second = open_backend(path);
  EXPECT_TRUE(second->find_queue("shared").has_value());

  auto raw = raw_connection(path);
  auto mode = raw->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode->step());
  EXPECT_EQ(mode->column_text(0), "wal");
}

TEST(SqliteBackendOpen, MissingDirectoryIsConnectionErrorNamingThePath) {
  const std::string path = "/nonexistent-pgqrs-dir/sub/queue.db";
  try {
    open_backend(path);
    FAIL() << "expected ConnectionError";
  } catch (const pgqrs::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(SqliteBackendOpen, FileThatIsNotADatabaseIsConnectionError) {
  ScratchDir dir;
  const std::string path = dir.file("notes.txt");
  {
    std::ofstream out(path);
    out << "this is certainly not a SQLite database, just some plain text that is long enough "
           "to fill the header of a database file many times over.\n";
  }
  try {
    open_backend(path);
    FAIL() << "expected ConnectionError";
  } catch (const pgqrs::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find(path + " is not a SQLite database"), std::string::npos)
        << e.what();
  }
}

// ---- atomicity -----------------------------------------------------------------------------

// A failure after the run row was inserted rolls the run back too (one transaction).
TEST(SqliteWorkflowsAtomicity, TriggerThatFailsToEnqueueLeavesNoRun) {
  ScratchDir dir;
  const std::string path = dir.file("wf.db");
  auto backend = installed_backend(path);
  backend->create_workflow("wf", kT0);
  raw_connection(path)->exec(
      "CREATE TRIGGER pgqrs_test_refuse BEFORE INSERT ON pgqrs_messages "
      "BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
  EXPECT_THROW(backend->trigger_run("wf", "{}", kT0), pgqrs::Error);
  EXPECT_TRUE(backend->list_runs(RunFilter{}).empty());
  EXPECT_TRUE(backend->list_messages("wf", 10, true).empty());
}

}  // namespace

// ---- upgrade from schema version 1 (flow control, issue 14) -------------------------------

namespace {

// A database at schema version 1 holding queue "old" with three pending messages (ids 1..3)
// and one archived (id 4), built with version 1's own SQL.
void build_version_1(const std::string& path) {
  auto raw = raw_connection(path);
  raw->exec(std::string(pgqrs::sqlite_family::version_table_sql()));
  raw->exec(std::string(pgqrs::sqlite_family::migration_sql(1)));
  raw->exec(
      "INSERT INTO pgqrs_schema_version (version, description, applied_at) VALUES (1, 'v1', 0);"
      "INSERT INTO pgqrs_queues (id, queue_name, created_at) VALUES (1, 'old', 0);"
      "INSERT INTO pgqrs_messages (id, queue_id, payload, vt, enqueued_at) VALUES "
      "(1, 1, '{\"n\":1}', 0, 0), (2, 1, '{\"n\":2}', 0, 0), (3, 1, '{\"n\":3}', 0, 0);"
      "INSERT INTO pgqrs_messages (id, queue_id, payload, vt, enqueued_at, archived_at) VALUES "
      "(4, 1, '{\"n\":4}', 0, 0, 5);");
}

}  // namespace

TEST(SqliteBackendSchema, UpgradeFromVersion1KeepsDataAndAddsFlowControl) {
  ScratchDir dir;
  const std::string path = dir.file("v1.db");
  build_version_1(path);
  auto backend = open_backend(path);
  ASSERT_EQ(backend->schema_version(), 1);
  backend->install();
  EXPECT_EQ(backend->schema_version(), pgqrs::backend::kSchemaVersion);

  const auto queue = backend->find_queue("old");
  ASSERT_TRUE(queue.has_value());
  EXPECT_EQ(queue->options, pgqrs::QueueOptions{});
  const auto all = backend->list_messages("old", 10, true);
  ASSERT_EQ(all.size(), 4u);
  for (const auto& m : all) {
    EXPECT_EQ(m.priority, 0);
    EXPECT_FALSE(m.dedup_key.has_value());
  }
  // The old messages dequeue in their old order, behind a new urgent one; limits apply.
  backend->update_queue_options("old", [](const pgqrs::QueueOptions&) {
    pgqrs::QueueOptions o;
    o.concurrency = 2;
    return o;
  });
  pgqrs::backend::EnqueueParams e;
  e.queue = "old";
  e.payloads = {"{\"n\":0}"};
  e.now = e.visible_at = kT0;
  pgqrs::MessageOptions urgent;
  urgent.priority = -1;
  e.flow = {urgent};
  backend->enqueue(e);
  const auto worker =
      backend->register_worker("w", pgqrs::WorkerKind::kConsumer, "old", "h", 1, kT0);
  pgqrs::backend::DequeueParams d;
  d.queue = "old";
  d.limit = 10;
  d.lease = std::chrono::seconds(30);
  d.consumer_worker_id = worker.id;
  d.now = kT0;
  const auto leased = backend->dequeue(d);
  ASSERT_EQ(leased.size(), 2u);
  EXPECT_EQ(leased[0].payload.at("n"), 0);
  EXPECT_EQ(leased[1].id, 1);
}
