// Faults on the Postgres backend: bad configuration gives clear typed errors (never a
// password), and connection failures are survived or reported exactly:
//  - terminated server connections and a server restart in the middle of a multi-process
//    workload: the library reconnects, the workload finishes, nothing is lost;
//  - a write whose connection is terminated by the server (pg_terminate_backend) was
//    rolled back, so the library runs it again: applied exactly once;
//  - a write whose server process dies while committing (SIGKILL, no answer): the outcome is
//    unknown and reported as ConnectionError with outcome_unknown() == true, never redone.
//
// The tests that terminate, restart or crash the server run on a PRIVATE server started
// for this binary with scripts/pg-test-server (so tests running in parallel on the shared
// server are not disturbed). Everything is skipped unless PGQRS_TEST_POSTGRES_DSN is set
// (make test sets it; it also tells us the server binaries are installed).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/pg_admin.h"
#include "integration/pg_private_server.h"
#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

// The password in a postgresql://user:password@host DSN.
std::string PasswordOf(const std::string& dsn) {
  const auto start = dsn.find("://") + 3;
  const auto at = dsn.find('@', start);
  const auto colon = dsn.find(':', start);
  return dsn.substr(colon + 1, at - colon - 1);
}

std::string WithPassword(const std::string& dsn, const std::string& password) {
  const auto start = dsn.find("://") + 3;
  const auto at = dsn.find('@', start);
  const auto colon = dsn.find(':', start);
  return dsn.substr(0, colon + 1) + password + dsn.substr(at);
}

std::string WithDatabase(const std::string& dsn, const std::string& db) {
  const auto slash = dsn.rfind('/');
  return dsn.substr(0, slash + 1) + db;
}

pgqrs::Config ConfigFor(const std::string& dsn, const std::string& schema) {
  pgqrs::Config config = pgqrs::Config::from_dsn(dsn);
  config.schema = schema;
  return config;
}

// Runs `fn`, expects E; returns its message.
template <class E, class Fn>
std::string Expect(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected " << ::testing::internal::GetTypeName<E>() << ", got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected " << ::testing::internal::GetTypeName<E>() << ", got no exception";
  return "";
}

// A scratch schema on `dsn`, dropped at the end of the scope.
class Schema {
 public:
  Schema(const std::string& dsn, const std::string& prefix) : dsn_(dsn) {
    PgAdmin db(dsn);
    name_ = db.CreateSchema(prefix);
  }
  ~Schema() {
    try {
      PgAdmin(dsn_).DropSchema(name_);
    } catch (const std::exception&) {
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::string dsn_;
  std::string name_;
};

// ---- configuration errors ------------------------------------------------------------------

TEST(PostgresConfigErrors, MalformedDsnsAreConfigErrorsNamingTheProblem) {
  REQUIRE_SHARED_SERVER();
  const std::string secret = "s3cret-Pw-4711";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"postgresql://", "expected postgresql://"},
      {"postgresql://u:" + secret + "@127.0.0.1:5432/db?pgqrs_bogus=1", "pgqrs_bogus"},
      {"postgresql://u:" + secret + "@127.0.0.1:5432/db?pgqrs_prepared=maybe", "pgqrs_prepared"},
      {"postgresql://u:" + secret + "@127.0.0.1:5432/db?sslmode=bogus", "sslmode"},
      {"postgresql://u:" + secret + "@127.0.0.1:notaport/db", "port"},
      {"postgresql://u:" + secret + "@127.0.0.1:5432/db?nosuchoption=1", "nosuchoption"},
  };
  for (const auto& [dsn, needle] : cases) {
    pgqrs::Config config = pgqrs::Config::from_dsn("sqlite::memory:");
    config.dsn = dsn;
    config.connection_timeout_seconds = 2;
    const std::string msg =
        Expect<pgqrs::ConfigError>([&] { (void)pgqrs::connect_with_config(config); });
    EXPECT_NE(msg.find(needle), std::string::npos) << dsn << " -> " << msg;
    EXPECT_EQ(msg.find(secret), std::string::npos) << "password leaked: " << msg;
  }
}

TEST(PostgresConfigErrors, WrongPasswordIsConfigErrorWithoutAnyPassword) {
  REQUIRE_SHARED_SERVER();
  const std::string wrong = "wrong-Pw-0815";
  const std::string msg = Expect<pgqrs::ConfigError>([&] {
    (void)pgqrs::connect_with_config(pgqrs::Config::from_dsn(WithPassword(shared_dsn, wrong)));
  });
  EXPECT_NE(msg.find("password"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(wrong), std::string::npos) << "password leaked: " << msg;
  EXPECT_EQ(msg.find(PasswordOf(shared_dsn)), std::string::npos) << "password leaked: " << msg;
}

TEST(PostgresConfigErrors, UnknownDatabaseIsConfigError) {
  REQUIRE_SHARED_SERVER();
  const std::string msg = Expect<pgqrs::ConfigError>([&] {
    (void)pgqrs::connect_with_config(
        pgqrs::Config::from_dsn(WithDatabase(shared_dsn, "pgqrs_no_such_db")));
  });
  EXPECT_NE(msg.find("pgqrs_no_such_db"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(PasswordOf(shared_dsn)), std::string::npos) << "password leaked: " << msg;
}

TEST(PostgresConfigErrors, MissingSchemaIsConfigErrorAtConnect) {
  REQUIRE_SHARED_SERVER();
  const std::string msg = Expect<pgqrs::ConfigError>(
      [&] { (void)pgqrs::connect_with_config(ConfigFor(shared_dsn, "pgqrs_no_such_schema")); });
  EXPECT_NE(msg.find("schema 'pgqrs_no_such_schema' does not exist"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(PasswordOf(shared_dsn)), std::string::npos) << "password leaked: " << msg;
}

TEST(PostgresConfigErrors, UninstalledSchemaIsConfigErrorNotInstalled) {
  REQUIRE_SHARED_SERVER();
  Schema schema(shared_dsn, "uninst");
  pgqrs::Store store = pgqrs::connect_with_config(ConfigFor(shared_dsn, schema.name()));
  std::string msg = Expect<pgqrs::ConfigError>([&] { pgqrs::admin(store).verify(); });
  EXPECT_NE(msg.find("not installed"), std::string::npos) << msg;
  msg = Expect<pgqrs::ConfigError>([&] { store.queue("q"); });
  EXPECT_NE(msg.find("not installed"), std::string::npos) << msg;
  msg = Expect<pgqrs::ConfigError>([&] {
    pgqrs::enqueue().message({{"a", 1}}).to("q").execute(store);
  });
  EXPECT_NE(msg.find("not installed"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(PasswordOf(shared_dsn)), std::string::npos) << "password leaked: " << msg;
}

TEST(PostgresConfigErrors, SchemaDroppedAfterConnectIsConfigError) {
  REQUIRE_SHARED_SERVER();
  Schema schema(shared_dsn, "dropped");
  pgqrs::Store store = pgqrs::connect_with_config(ConfigFor(shared_dsn, schema.name()));
  pgqrs::admin(store).install();
  store.queue("q");
  PgAdmin(shared_dsn).DropSchema(schema.name());
  const std::string msg = Expect<pgqrs::ConfigError>([&] {
    pgqrs::enqueue().message({{"a", 1}}).to("q").execute(store);
  });
  EXPECT_TRUE(msg.find("does not exist") != std::string::npos ||
              msg.find("not installed") != std::string::npos)
      << msg;
}

TEST(PostgresConfigErrors, UnreachableServerIsRetryableConnectionErrorAfterTheTimeout) {
  REQUIRE_SHARED_SERVER();
  // A port nobody listens on: bind one, note it, close it.
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  pgqrs::Config config =
      pgqrs::Config::from_dsn("postgresql://u:pw@127.0.0.1:" + std::to_string(port) + "/db");
  config.connection_timeout_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  try {
    (void)pgqrs::connect_with_config(config);
    ADD_FAILURE() << "connected to a closed port";
  } catch (const pgqrs::ConnectionError& e) {
    EXPECT_TRUE(e.retryable()) << e.what();
    EXPECT_FALSE(e.outcome_unknown());
    EXPECT_EQ(std::string(e.what()).find(":pw@"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

// ---- connection failures during writes ----------------------------------------------------

// Makes every INSERT into the schema's message table sleep `seconds` the first time it runs
// (a sequence, which is not transactional, counts the attempts).
void SlowFirstInsert(PgAdmin& db, const std::string& schema, int seconds) {
  const std::string s = "\"" + schema + "\"";
  db.Exec("CREATE SEQUENCE " + s + ".attempts");
  db.Exec("CREATE FUNCTION " + s + ".slow_first() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " +
          "IF nextval('" + s + ".attempts') = 1 THEN PERFORM pg_sleep(" + std::to_string(seconds) +
          "); END IF; RETURN NULL; END $$");
  db.Exec("CREATE TRIGGER slow_first BEFORE INSERT ON " + s +
          ".pgqrs_messages FOR EACH STATEMENT EXECUTE FUNCTION " + s + ".slow_first()");
}

// The pid of the server process of `app` that is inside the test's pg_sleep (i.e. in the
// middle of executing the statement, not e.g. preparing it), waiting up to 10 s.
std::string ActiveBackend(PgAdmin& db, const std::string& app) {
  for (int i = 0; i < 200; ++i) {
    auto rows = db.Query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' "
        "AND wait_event = 'PgSleep'",
        {app});
    if (!rows.empty() && rows[0][0]) return *rows[0][0];
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("no active backend for " + app);
}

void WaitUntilServerAccepts(const std::string& dsn) {
  for (int i = 0; i < 200; ++i) {
    try {
      PgAdmin db(dsn);
      return;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(100ms);
    }
  }
}

TEST(PostgresFaults, WriteWhoseConnectionIsTerminatedIsRetriedAndAppliedOnce) {
  REQUIRE_PRIVATE_SERVER();
  Schema schema(dsn, "term");
  const std::string app = "pgqrs_fault_term";
  pgqrs::Store store = pgqrs::connect_with_config(
      ConfigFor(WithParam(dsn, "application_name=" + app), schema.name()));
  pgqrs::admin(store).install();
  store.queue("q");
  PgAdmin db(dsn);
  SlowFirstInsert(db, schema.name(), 30);

  auto fut = std::async(std::launch::async, [&] {
    return pgqrs::enqueue().message({{"job", 1}}).to("q").execute(store);
  });
  const std::string pid = ActiveBackend(db, app);
  EXPECT_EQ(db.Value("SELECT pg_terminate_backend($1)", {pid}), "t");
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready) << "the enqueue did not finish";
  std::vector<std::int64_t> ids;
  ASSERT_NO_THROW(ids = fut.get()) << "a terminated (rolled back) write must be retried";
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(db.Value("SELECT count(*) FROM \"" + schema.name() + "\".pgqrs_messages"), "1")
      << "the write was applied more (or less) than once";
  EXPECT_EQ(db.Value("SELECT last_value FROM \"" + schema.name() + "\".attempts"), "2")
      << "expected one interrupted attempt and one retry";
}

TEST(PostgresFaults, WriteWhoseServerDiesDuringCommitIsReportedOutcomeUnknown) {
  REQUIRE_PRIVATE_SERVER();
  Schema schema(dsn, "kill");
  const std::string app = "pgqrs_fault_kill";
  pgqrs::Store store = pgqrs::connect_with_config(
      ConfigFor(WithParam(dsn, "application_name=" + app), schema.name()));
  pgqrs::admin(store).install();
  store.queue("q");
  {
    PgAdmin db(dsn);
    SlowFirstInsert(db, schema.name(), 30);
    auto fut = std::async(std::launch::async, [&] {
      return pgqrs::enqueue().message({{"job", 1}}).to("q").execute(store);
    });
    const std::string pid = ActiveBackend(db, app);
    // No answer at all from the server: the statement may or may not have committed.
    ASSERT_EQ(::kill(std::stoi(pid), SIGKILL), 0);
    ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
    try {
      fut.get();
      ADD_FAILURE() << "expected ConnectionError with outcome_unknown()";
    } catch (const pgqrs::ConnectionError& e) {
      EXPECT_TRUE(e.outcome_unknown()) << e.what();
      EXPECT_FALSE(e.retryable()) << e.what();
    }
  }
  // The server recovers from the crash; the store reconnects by itself.
  WaitUntilServerAccepts(dsn);
  PgAdmin db(dsn);
  EXPECT_EQ(db.Value("SELECT count(*) FROM \"" + schema.name() + "\".pgqrs_messages"), "0")
      << "not redone: the interrupted insert never committed and nothing retried it";
  // (The crash may have lost the sequence's advance too: take the slow trigger away.)
  db.Exec("DROP TRIGGER slow_first ON \"" + schema.name() + "\".pgqrs_messages");
  EXPECT_EQ(pgqrs::enqueue().message({{"job", 2}}).to("q").execute(store).size(), 1u);
}

// The poll loop acknowledges a batch together with leasing the next one. When that combined
// write's outcome is unknown (the server died before answering), the loop must not redo the
// archive on its own: it ends with the outcome-unknown ConnectionError, and the message is
// redelivered after its lease if the write did not commit (issue 12).
TEST(PostgresFaults, PollLoopDoesNotRedoAnArchiveWhoseOutcomeIsUnknown) {
  REQUIRE_PRIVATE_SERVER();
  Schema schema(dsn, "pollkill");
  const std::string app = "pgqrs_fault_pollkill";
  pgqrs::Store store = pgqrs::connect_with_config(
      ConfigFor(WithParam(dsn, "application_name=" + app), schema.name()));
  pgqrs::admin(store).install();
  store.queue("q");
  pgqrs::enqueue().message({{"job", 1}}).to("q").execute(store);
  pgqrs::enqueue().message({{"job", 2}}).to("q").execute(store);
  {
    PgAdmin db(dsn);
    // Every archive (archived_at set) sleeps: the first one is the loop's combined
    // archive-and-lease after the first message's handler returned.
    const std::string s = "\"" + schema.name() + "\"";
    db.Exec("CREATE FUNCTION " + s +
            ".slow_archive() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); "
            "RETURN NEW; END $$");
    db.Exec("CREATE TRIGGER slow_archive BEFORE UPDATE ON " + s +
            ".pgqrs_messages FOR EACH ROW WHEN (OLD.archived_at IS NULL AND NEW.archived_at IS "
            "NOT NULL) EXECUTE FUNCTION " +
            s + ".slow_archive()");
    std::atomic<int> handled{0};
    std::stop_source stop;
    auto fut = std::async(std::launch::async, [&] {
      return pgqrs::dequeue()
          .from("q")
          .batch(1)
          .stop_token(stop.get_token())
          .handle([&](const pgqrs::QueueMessage&) { ++handled; })
          .poll(store);
    });
    const std::string pid = ActiveBackend(db, app);
    ASSERT_EQ(::kill(std::stoi(pid), SIGKILL), 0);
    const bool ended = fut.wait_for(20s) == std::future_status::ready;
    stop.request_stop();  // so that a loop that went on (the bug) ends
    EXPECT_TRUE(ended) << "the loop went on after an outcome-unknown acknowledgement";
    try {
      fut.get();
      ADD_FAILURE() << "expected ConnectionError with outcome_unknown()";
    } catch (const pgqrs::ConnectionError& e) {
      EXPECT_TRUE(e.outcome_unknown()) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "expected ConnectionError with outcome_unknown(), got: " << e.what();
    }
    EXPECT_EQ(handled.load(), 1);
  }
  WaitUntilServerAccepts(dsn);
  PgAdmin db(dsn);
  EXPECT_EQ(db.Value("SELECT count(*) FROM \"" + schema.name() +
                     "\".pgqrs_messages WHERE archived_at IS NOT NULL"),
            "0")
      << "not redone: the killed acknowledgement never committed and nothing repeated it";
}

// A deferred constraint trigger that sleeps at COMMIT, so a test can hit the commit.
void SlowCommitTable(PgAdmin& db, const std::string& schema) {
  const std::string s = "\"" + schema + "\"";
  db.Exec("CREATE TABLE " + s + ".orders (id int PRIMARY KEY)");
  db.Exec("CREATE FUNCTION " + s +
          ".slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); "
          "RETURN NULL; END $$");
  db.Exec("CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON " + s +
          ".orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION " + s +
          ".slow_commit()");
}

TEST(PostgresFaults, UserCommitTerminatedByTheServerIsRolledBackNotUnknown) {
  REQUIRE_PRIVATE_SERVER();
  Schema schema(dsn, "txterm");
  const std::string app = "pgqrs_fault_txterm";
  pgqrs::Store store = pgqrs::connect_with_config(
      ConfigFor(WithParam(dsn, "application_name=" + app), schema.name()));
  pgqrs::admin(store).install();
  store.queue("q");
  PgAdmin db(dsn);
  SlowCommitTable(db, schema.name());
  auto tx = pgqrs::postgres::begin(store);
  tx.execute("INSERT INTO \"" + schema.name() + "\".orders (id) VALUES ($1)", {1});
  pgqrs::enqueue().message({{"order", 1}}).to("q").execute(tx);
  auto fut = std::async(std::launch::async, [&] { tx.commit(); });
  const std::string pid = ActiveBackend(db, app);
  EXPECT_EQ(db.Value("SELECT pg_terminate_backend($1)", {pid}), "t");
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
  try {
    fut.get();
    ADD_FAILURE() << "expected ConnectionError";
  } catch (const pgqrs::ConnectionError& e) {
    EXPECT_FALSE(e.outcome_unknown())
        << "the server answered: the transaction was rolled back; " << e.what();
  }
  EXPECT_EQ(db.Value("SELECT count(*) FROM \"" + schema.name() + "\".orders"), "0");
  EXPECT_EQ(db.Value("SELECT count(*) FROM \"" + schema.name() + "\".pgqrs_messages"), "0");
}

TEST(PostgresFaults, UserCommitWhoseServerDiesIsReportedOutcomeUnknown) {
  REQUIRE_PRIVATE_SERVER();
  Schema schema(dsn, "txkill");
  const std::string app = "pgqrs_fault_txkill";
  pgqrs::Store store = pgqrs::connect_with_config(
      ConfigFor(WithParam(dsn, "application_name=" + app), schema.name()));
  pgqrs::admin(store).install();
  store.queue("q");
  {
    PgAdmin db(dsn);
    SlowCommitTable(db, schema.name());
    auto tx = pgqrs::postgres::begin(store);
    tx.execute("INSERT INTO \"" + schema.name() + "\".orders (id) VALUES ($1)", {1});
    pgqrs::enqueue().message({{"order", 1}}).to("q").execute(tx);
    auto fut = std::async(std::launch::async, [&] { tx.commit(); });
    const std::string pid = ActiveBackend(db, app);
    ASSERT_EQ(::kill(std::stoi(pid), SIGKILL), 0);
    ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
    try {
      fut.get();
      ADD_FAILURE() << "expected ConnectionError with outcome_unknown()";
    } catch (const pgqrs::ConnectionError& e) {
      EXPECT_TRUE(e.outcome_unknown()) << e.what();
      EXPECT_FALSE(e.retryable());
    }
  }
  WaitUntilServerAccepts(dsn);
  PgAdmin db(dsn);
  EXPECT_EQ(db.Value("SELECT count(*) FROM \"" + schema.name() + "\".orders"), "0");
  EXPECT_EQ(db.Value("SELECT count(*) FROM \"" + schema.name() + "\".pgqrs_messages"), "0");
}

// ---- a multi-process workload through terminations and a restart -----------------------

TEST(PostgresFaults, TerminatedConnectionsAndAServerRestartLoseNothing) {
  REQUIRE_PRIVATE_SERVER();
  WaitUntilServerAccepts(dsn);
  Schema schema(dsn, "chaos");
  constexpr int kMessages = 4000;
  const std::string app = "pgqrs_fault_load";
  const std::string load_dsn = WithParam(dsn, "application_name=" + app);
  const std::string queue = "chaos";
  {
    pgqrs::Store store = pgqrs::connect_with_config(ConfigFor(dsn, schema.name()));
    pgqrs::admin(store).install();
    store.queue(queue);
  }
  ScratchDir dir("pgqrs-pg-faults");
  const std::string worker = PGQRS_QUEUE_WORKER_PATH;
  const std::vector<std::string> env = {"PGQRS_SCHEMA=" + schema.name(),
                                        "PGQRS_CONNECTION_TIMEOUT=60"};
  const std::string expected = std::to_string(kMessages);
  const auto unknown_log = dir.path() / "unknown.log";
  std::vector<pid_t> pids;
  std::vector<std::filesystem::path> outs;
  std::vector<std::filesystem::path> errs;
  for (int i = 0; i < 2; ++i) {
    outs.push_back(dir.path() / ("consumer-" + std::to_string(i) + ".log"));
    errs.push_back(dir.path() / ("consumer-" + std::to_string(i) + ".err"));
    pids.push_back(Spawn({worker, "consume", load_dsn, queue, outs.back().string(), expected,
                          "--resilient", "--lease", "3", "--batch", "10"},
                         env, errs.back().string()));
  }
  errs.push_back(dir.path() / "producer.err");
  pids.push_back(Spawn({worker, "produce", load_dsn, queue, expected, "--resilient", "--batch",
                        "20", "--pause-ms", "15", "--unknown-log", unknown_log.string()},
                       env, errs.back().string()));
  for (pid_t p : pids) ASSERT_GT(p, 0);

  // Faults while the producer is still producing: terminate every connection of the
  // workload three times, restart the server, terminate three more times.
  int terminated = 0;
  auto terminate_all = [&] {
    try {
      PgAdmin db(dsn);
      terminated +=
          std::stoi(db.Value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                             "application_name = $1",
                             {app}));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "terminate: " << e.what();
    }
  };
  std::this_thread::sleep_for(500ms);
  for (int i = 0; i < 3; ++i) {
    terminate_all();
    std::this_thread::sleep_for(300ms);
  }
  RestartServer();
  std::this_thread::sleep_for(500ms);
  for (int i = 0; i < 3; ++i) {
    terminate_all();
    std::this_thread::sleep_for(300ms);
  }

  auto status = WaitAll(pids, std::chrono::steady_clock::now() + std::chrono::minutes(4));
  std::string stderr_text;
  for (const auto& e : errs) stderr_text += ReadFile(e);
  for (pid_t p : pids) EXPECT_EQ(status[p], 0) << "a worker failed; its stderr:\n" << stderr_text;
  EXPECT_GT(terminated, 0) << "the faults hit no connection";
  int reported = 0;
  for (std::size_t pos = stderr_text.find("resilient:"); pos != std::string::npos;
       pos = stderr_text.find("resilient:", pos + 1)) {
    ++reported;
  }
  RecordProperty("terminated_connections", terminated);
  RecordProperty("failures_reported_to_workers", reported);

  // Nothing lost: every n archived; nothing left behind.
  PgAdmin db(dsn);
  const std::string table = "\"" + schema.name() + "\".pgqrs_messages";
  EXPECT_EQ(db.Value("SELECT count(DISTINCT payload->>'n') FROM " + table +
                     " WHERE archived_at IS NOT NULL"),
            std::to_string(kMessages))
      << "messages lost; worker stderr:\n"
      << stderr_text;
  EXPECT_EQ(db.Value("SELECT count(*) FROM " + table + " WHERE archived_at IS NULL"), "0");
  // A message exists twice only if the producer was told its batch's outcome was unknown
  // and sent it again (at-least-once on the producer's side, by the producer's choice).
  std::set<long> maybe_twice;
  {
    std::ifstream in(unknown_log);
    long start = 0;
    long size = 0;
    while (in >> start >> size) {
      for (long n = start; n < start + size; ++n) maybe_twice.insert(n);
    }
  }
  for (const auto& row :
       db.Query("SELECT payload->>'n' FROM " + table + " GROUP BY 1 HAVING count(*) > 1")) {
    EXPECT_TRUE(maybe_twice.contains(std::stol(*row[0])))
        << "message n=" << *row[0] << " exists twice without an unknown-outcome report";
  }
  {
    // What the workers were told, for the record (first few lines).
    std::istringstream lines(stderr_text);
    std::string line;
    for (int shown = 0; shown < 8 && std::getline(lines, line);) {
      if (line.find("resilient:") == std::string::npos) continue;
      std::cout << "[ info ]   " << line.substr(0, 240) << "\n";
      ++shown;
    }
  }
  std::cout << "[ info ] terminated " << terminated << " connections + 1 restart; workers saw "
            << reported << " failures; " << maybe_twice.size()
            << " messages had an unknown enqueue outcome\n";
}

// Decision B4: a step's start (its RUNNING row) commits without waiting for the WAL flush, so
// a database crash right after it may lose the row. The step's outcome must still be
// recorded, durably, by the execution that started it.
TEST(PostgresFaults, AStepWhoseStartWasLostInACrashIsStillRecorded) {
  REQUIRE_SHARED_SERVER();
  Schema schema(shared_dsn, "lazystart");
  pgqrs::Store store = pgqrs::connect_with_config(ConfigFor(shared_dsn, schema.name()));
  pgqrs::admin(store).install();
  pgqrs::workflow().name("lazy").create(store);
  const auto msg = pgqrs::workflow().name("lazy").trigger({{"n", 1}}).execute(store);
  const std::int64_t id = pgqrs::run().message(msg).store(store).record().id;
  pgqrs::Run run = pgqrs::run().id(id).store(store).execute();
  run.start();
  PgAdmin db(shared_dsn);
  const std::string steps = "\"" + schema.name() + "\".pgqrs_workflow_steps";
  const auto lose_start = [&](const std::string& step) {
    db.Exec("DELETE FROM " + steps + " WHERE run_id = " + std::to_string(id) +
            " AND step_name = '" + step + "'");
  };

  ASSERT_EQ(run.acquire_step("ok").status, pgqrs::StepResult::Status::kExecute);
  lose_start("ok");
  run.complete_step("ok", 42);
  EXPECT_EQ(db.Value("SELECT status || ' ' || output::text FROM " + steps +
                     " WHERE run_id = " + std::to_string(id) + " AND step_name = 'ok'"),
            "SUCCESS 42");

  ASSERT_EQ(run.acquire_step("bad").status, pgqrs::StepResult::Status::kExecute);
  lose_start("bad");
  run.fail_step("bad", {{"message", "boom"}});
  EXPECT_EQ(db.Value("SELECT status FROM " + steps + " WHERE run_id = " + std::to_string(id) +
                     " AND step_name = 'bad'"),
            "ERROR");

  // A step this execution never started is still a handler bug, not silently created.
  EXPECT_THROW(run.complete_step("never", 1), pgqrs::ValidationError);

  // The lazy commit is the start's own: the pooled connection it ran on still commits
  // synchronously afterwards (one connection, so the same one answers).
  pgqrs::Config one = ConfigFor(shared_dsn, schema.name());
  one.max_connections = 1;
  pgqrs::Store single = pgqrs::connect_with_config(one);
  pgqrs::Run again = pgqrs::run().id(id).store(single).execute();
  ASSERT_EQ(again.acquire_step("next").status, pgqrs::StepResult::Status::kExecute);
  auto tx = pgqrs::postgres::begin(single);
  const auto shown = tx.execute("SHOW synchronous_commit");
  ASSERT_EQ(shown.rows.size(), 1u);
  EXPECT_EQ(shown.rows[0][0], std::optional<std::string>("on"));
}

}  // namespace
}  // namespace pgqrs_test
