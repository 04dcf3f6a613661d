// Unit tests of the Turso backend that are specific to the Turso engine: the linked engine
// version, bad input when opening (missing directory, a file that is not a database,
// read-only locations, a directory as path), lock conflicts, and threads sharing one
// database. Several processes on one file are tested with real (spawned) processes in
// tests/integration (multiprocess_test, workflow_crash_test); a forked child would inherit
// the parent's open Turso database object, so it would prove nothing about a second process. The
// queue and workflow behaviour is covered by the conformance suite (tests/conformance, case
// "turso").
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/sqlite_family/connection.h"
#include "backend/turso/turso_backend.h"
#include "backend/turso/turso_driver.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"

namespace {

using namespace std::chrono_literals;
using pgqrs::TimePoint;
using pgqrs::WorkerKind;
using pgqrs::backend::Backend;
using pgqrs::backend::DequeueParams;
using pgqrs::backend::EnqueueParams;
namespace fs = std::filesystem;

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));

class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("pgqrs-turso-unit-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

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
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(fds[0]);
    std::string out;
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
      out = "cannot drop privileges";
    } else {
      out = fn();
    }
    const ssize_t written = write(fds[1], out.data(), out.size());
    _exit(written == static_cast<ssize_t>(out.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string result;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) result.append(buf, buf + n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) result += " [child failed]";
  return result;
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

// ---- locks ------------------------------------------------------------------

TEST(TursoLocks, ALockHeldTooLongIsATimeoutAndNothingIsHalfDone) {
  ScratchDir dir;
  const std::string path = (dir.path() / "locked.db").string();
  pgqrs::Config config = test_config();
  config.connection_timeout_seconds = 1;
  auto backend = open_backend(path, config);
  backend->install();

  // A second connection to the same database (same process) holds the write lock.
  pgqrs::turso::TursoOptions options;
  options.path = path;
  options.busy_timeout = 100ms;
  options.experimental_features = pgqrs::turso::kMultiprocessWal;  // as the backend opens it
  pgqrs::turso::TursoDriver holder_driver(options);
  auto holder = holder_driver.open();
  holder->exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  try {
    backend->create_queue("q", kT0);
    FAIL() << "expected TimeoutError";
  } catch (const pgqrs::TimeoutError& e) {
    EXPECT_TRUE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("create_queue"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("turso"), std::string::npos) << e.what();
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 5s);
  holder->exec("ROLLBACK");
  EXPECT_FALSE(backend->find_queue("q").has_value());
  backend->create_queue("q", kT0);
  EXPECT_TRUE(backend->find_queue("q").has_value());
}

// MVCC (not used by the backend, docs/turso.md): BEGIN CONCURRENT writers of disjoint rows
// both commit; a second writer of the same row gets a write-write conflict, which the driver
// reports as BusyError so the family's executor would retry the transaction. The engine
// refuses MVCC together with multiprocess WAL.
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

// ---- threads --------------------------------------------------------------------------------

// Drains `queue` with its own consumer; returns the ids it archived.
std::vector<std::int64_t> drain(Backend& backend, const std::string& queue,
                                const std::string& worker_name) {
  const auto worker =
      backend.register_worker(worker_name, WorkerKind::kConsumer, queue, "host", 1, kT0).id;
  std::vector<std::int64_t> mine;
  for (;;) {
    DequeueParams p;
    p.queue = queue;
    p.limit = 7;
    p.lease = 1h;
    p.consumer_worker_id = worker;
    p.now = kT0;
    const auto got = backend.dequeue(p);
    if (got.empty()) return mine;
    std::vector<std::int64_t> ids;
    for (const auto& m : got) ids.push_back(m.id);
    const auto applied = backend.archive(ids, worker, kT0);
    for (bool a : applied) {
      if (!a) throw std::runtime_error("archive of a fresh lease did not apply");
    }
    mine.insert(mine.end(), ids.begin(), ids.end());
  }
}

TEST(TursoThreads, FourThreadsDequeueEachMessageExactlyOnce) {
  constexpr int kMessages = 1000;
  constexpr int kThreads = 4;
  ScratchDir dir;
  auto backend = open_backend((dir.path() / "threads.db").string());
  backend->install();
  backend->create_queue("work", kT0);
  EnqueueParams p;
  p.queue = "work";
  for (int i = 0; i < kMessages; ++i) p.payloads.push_back(std::to_string(i));
  p.visible_at = p.now = kT0;
  backend->enqueue(p);

  std::vector<std::vector<std::int64_t>> got(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        got[t] = drain(*backend, "work", "consumer-" + std::to_string(t));
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << "thread " << t << ": " << e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  std::set<std::int64_t> all;
  std::size_t total = 0;
  for (const auto& ids : got) {
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kMessages));
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  const auto metrics = backend->queue_metrics("work", kT0, 5);
  EXPECT_EQ(metrics.archived, static_cast<std::uint64_t>(kMessages));
}

}  // namespace
