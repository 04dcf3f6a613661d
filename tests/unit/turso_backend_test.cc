// Unit tests of the Turso backend that are specific to the Turso engine: the linked engine
// version, bad input when opening (missing directory, a file that is not a database,
// read-only locations, a directory as path) and MVCC. Lock conflicts are tested with the
// SQLite driver's (sqlite_family_lock_test.cc); threads sharing one backend by the
// conformance suite (contract_concurrency_test.cc). Several processes on one file are tested with
// real (spawned) processes in tests/integration (multiprocess_test, workflow_crash_test); a forked
// child would inherit the parent's open Turso database object, so it would prove nothing about a
// second process. The queue and workflow behaviour is covered by the conformance suite
// (tests/conformance, case "turso").
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/sqlite_family/connection.h"
#include "backend/turso/turso_backend.h"
#include "backend/turso/turso_driver.h"
#include "common/backend_helpers.h"
#include "common/process.h"
#include "common/scratch_dir.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"

namespace {

using namespace std::chrono_literals;
using pgqrs::backend::Backend;
namespace fs = std::filesystem;

using pgqrs_test::kT0;
using pgqrs_test::ScratchDir;

pgqrs::Config test_config() {
  pgqrs::Config config;
  config.max_connections = 4;
  config.connection_timeout_seconds = 10;
  return config;
}

std::unique_ptr<Backend> open_backend(const std::string& path,
                                      const pgqrs::Config& config = test_config()) {
  pgqrs::backend::Dsn dsn = pgqrs::backend::parse_dsn("turso://" + path);
  return pgqrs::backend::make_turso_backend(config, dsn);
}

// Opens `path` and installs the schema; returns "ok", or "<ErrorType>: <message>".
std::string try_open_and_install(const std::string& path) {
  try {
    open_backend(path)->install();
    return "ok";
  } catch (const pgqrs::ConnectionError& e) {
    return std::string("ConnectionError: ") + e.what();
  } catch (const pgqrs::ConfigError& e) {
    return std::string("ConfigError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
}

// Runs `fn` in a forked child and returns the string it produced. The child first drops to
// the "nobody" user when it runs as root, so that file permissions apply to it (root ignores
// them). No Turso database may be open in this process when it forks.
std::string in_unprivileged_child(const std::function<std::string()>& fn) {
  const auto result = pgqrs_test::RunForked([&]() -> std::string {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
      return "cannot drop privileges";
    }
    return fn();
  });
  return result.exit_code == 0 ? result.output : result.output + " [child failed]";
}

void make_database(const std::string& path) {
  auto backend = open_backend(path);
  backend->install();
  backend->create_queue("q", kT0);
}

// ---- the engine -------------------------------------------------------------------------

TEST(TursoEngine, LinkedVersionIsThePinnedOne) {
  EXPECT_EQ(pgqrs::turso::engine_version(), PGQRS_TURSO_ENGINE_VERSION);
}

TEST(TursoEngine, BackendNameIsTurso) {
  ScratchDir dir;
  EXPECT_EQ(open_backend((dir.path() / "q.db").string())->name(), "turso");
}

// ---- bad input when opening ---------------------------------------------------------------

TEST(TursoOpen, MissingDirectoryIsConnectionErrorNamingThePath) {
  const std::string path = "/nonexistent-pgqrs-dir/sub/queue.db";
  const std::string outcome = try_open_and_install(path);
  EXPECT_EQ(outcome.rfind("ConnectionError: ", 0), 0U) << outcome;
  EXPECT_NE(outcome.find(path), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("does not exist"), std::string::npos) << outcome;
}

TEST(TursoOpen, FileThatIsNotADatabaseIsConnectionErrorAndIsLeftUnchanged) {
  ScratchDir dir;
  const std::string path = (dir.path() / "notes.txt").string();
  const std::string text =
      "this is certainly not a database, just some plain text that is long enough to fill "
      "the header of a database file many times over.\n";
  {
    std::ofstream out(path);
    for (int i = 0; i < 50; ++i) out << text;
  }
  const std::string outcome = try_open_and_install(path);
  EXPECT_EQ(outcome.rfind("ConnectionError: ", 0), 0U) << outcome;
  EXPECT_NE(outcome.find(path + " is not a database"), std::string::npos) << outcome;
  // The file is left as it was.
  std::ifstream in(path);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after.size(), text.size() * 50);
  EXPECT_EQ(after.substr(0, text.size()), text);
}

TEST(TursoOpen, ADirectoryAsPathIsConnectionError) {
  ScratchDir dir;
  const std::string outcome = try_open_and_install(dir.path().string());
  EXPECT_EQ(outcome.rfind("ConnectionError: ", 0), 0U) << outcome;
  EXPECT_NE(outcome.find("is a directory"), std::string::npos) << outcome;
}

TEST(TursoOpen, ReadOnlyFileIsConnectionErrorNamingThePath) {
  ScratchDir dir;
  const std::string path = (dir.path() / "ro.db").string();
  make_database(path);
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string outcome = in_unprivileged_child([&] { return try_open_and_install(path); });
  EXPECT_EQ(outcome.rfind("ConnectionError: ", 0), 0U) << outcome;
  EXPECT_NE(outcome.find(path), std::string::npos) << outcome;
}

TEST(TursoOpen, ReadOnlyDirectoryIsConnectionErrorNamingThePath) {
  ScratchDir dir;
  const fs::path ro = dir.path() / "ro";
  fs::create_directories(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                          fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const std::string path = (ro / "new.db").string();
  const std::string outcome = in_unprivileged_child([&] { return try_open_and_install(path); });
  EXPECT_EQ(outcome.rfind("ConnectionError: ", 0), 0U) << outcome;
  EXPECT_NE(outcome.find(path), std::string::npos) << outcome;
  EXPECT_FALSE(fs::exists(path));
}

// ---- processes (H24) ----------------------------------------------------------------------
// The engine's experimental multiprocess WAL lost and re-ran recorded workflow steps under
// SIGKILL torture, so pgqrs allows one process per Turso file. Before H24 the second
// process's open below succeeded (and the two processes did not stay consistent).

// A child process (forked while this process has no Turso database open) opens `path`,
// creates queue "held", writes one byte to `ready` and waits; the caller kills it.
pid_t hold_in_child(const std::string& path, int ready) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  try {
    auto backend = open_backend(path);
    backend->install();
    backend->create_queue("held", kT0);
    const char byte = 'r';
    if (::write(ready, &byte, 1) != 1) ::_exit(3);
    for (;;) ::pause();
  } catch (...) {
    ::_exit(2);
  }
}

TEST(TursoProcesses, ASecondProcessIsRefusedWithAConnectionErrorNamingTheFile) {
  ScratchDir dir;
  const std::string path = (dir.path() / "q.db").string();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = hold_in_child(path, fds[1]);
  char byte = 0;
  ASSERT_EQ(::read(fds[0], &byte, 1), 1) << "the child could not open the database";
  const std::string outcome = try_open_and_install(path);
  EXPECT_NE(outcome.find("ConnectionError"), std::string::npos) << outcome;
  EXPECT_NE(outcome.find(path), std::string::npos) << outcome;
  EXPECT_NE(outcome.find("open in another process"), std::string::npos) << outcome;

  // SIGKILL releases the file (no stale lock); the child's commit is there.
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  auto backend = open_backend(path);
  EXPECT_TRUE(backend->find_queue("held").has_value());
}

TEST(TursoProcesses, BackendsOfOneProcessShareTheFileAndSeeEachOthersCommits) {
  ScratchDir dir;
  const std::string path = (dir.path() / "q.db").string();
  auto a = open_backend(path);
  a->install();
  auto b = open_backend(path);
  a->create_queue("from_a", kT0);
  b->create_queue("from_b", kT0);
  EXPECT_TRUE(b->find_queue("from_a").has_value());
  EXPECT_TRUE(a->find_queue("from_b").has_value());
  a.reset();
  b.reset();
  // Closed: the file is free again (a fresh engine database, still the same data).
  EXPECT_TRUE(open_backend(path)->find_queue("from_b").has_value());
}

// ---- MVCC ---------------------------------------------------------------------------------

// MVCC (not used by the backend, docs/turso.md): BEGIN CONCURRENT writers of disjoint rows
// both commit; a second writer of the same row gets a write-write conflict, which the driver
// reports as BusyError so the family's executor would retry the transaction. The engine
// refuses MVCC together with multiprocess WAL.
// As on SQLite (sqlite_family_concurrency_test.cc): a reader that never pauses must not let
// the write-ahead log grow without bound (decision G7). Before the fix: over 250 MB.
TEST(TursoWal, WriteAheadLogStaysBoundedUnderContinuousReads) {
  ScratchDir dir;
  const std::string path = (dir.path() / "wal.db").string();
  auto backend = open_backend(path);
  backend->install();
  long reads = 0;
  const auto largest = pgqrs_test::LargestWalUnderContinuousReads(
      *backend, [&] { return open_backend(path); }, path + "-wal", reads);
  EXPECT_GT(reads, 100);
  // A TRUNCATE checkpoint is tried after every commit that leaves it past 16 MiB.
  EXPECT_LE(largest, std::uintmax_t{40} << 20) << "the WAL reached " << (largest >> 20) << " MiB";
}

TEST(TursoMvcc, ConcurrentWritersOfOneRowConflictAsBusyError) {
  ScratchDir dir;
  pgqrs::turso::TursoOptions options;
  options.path = (dir.path() / "mvcc.db").string();
  pgqrs::turso::TursoDriver driver(options);
  auto a = driver.open();
  auto b = driver.open();
  {
    auto mode = a->prepare("PRAGMA journal_mode = 'mvcc'");
    ASSERT_TRUE(mode->step());
    EXPECT_EQ(mode->column_text(0), "mvcc");
  }
  a->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
  a->exec("INSERT INTO t VALUES (1, 0), (2, 0)");
  a->exec("BEGIN CONCURRENT");
  b->exec("BEGIN CONCURRENT");
  a->exec("UPDATE t SET v = v + 1 WHERE id = 1");
  b->exec("UPDATE t SET v = v + 1 WHERE id = 2");
  a->exec("COMMIT");
  b->exec("COMMIT");

  a->exec("BEGIN CONCURRENT");
  b->exec("BEGIN CONCURRENT");
  a->exec("UPDATE t SET v = v + 1 WHERE id = 1");
  EXPECT_THROW(b->exec("UPDATE t SET v = v + 1 WHERE id = 1"), pgqrs::sqlite_family::BusyError);
  a->exec("COMMIT");
  auto sum = a->prepare("SELECT sum(v) FROM t");
  ASSERT_TRUE(sum->step());
  EXPECT_EQ(sum->column_int64(0), 3);
}

TEST(TursoMvcc, IsRefusedWithMultiprocessWal) {
  ScratchDir dir;
  pgqrs::turso::TursoOptions options;
  options.path = (dir.path() / "mp.db").string();
  options.experimental_features = pgqrs::turso::kMultiprocessWal;
  pgqrs::turso::TursoDriver driver(options);
  auto conn = driver.open();
  try {
    conn->exec("PRAGMA journal_mode = 'mvcc'");
    FAIL() << "expected the engine to refuse MVCC with multiprocess WAL";
  } catch (const pgqrs::InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("multiprocess"), std::string::npos) << e.what();
  }
}

}  // namespace
