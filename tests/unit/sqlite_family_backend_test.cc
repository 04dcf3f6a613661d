// Unit tests of the SQLite driver behind backend::Backend: what an open does with a bad
// path or a file that is not a database, WAL mode, a tampered schema, and atomicity seen
// through a raw connection. The storage contracts themselves run on every backend in the
// conformance suite (tests/conformance/contract_*). Time is injected, never slept.
#include <fstream>
#include <string>
#include <vector>

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
