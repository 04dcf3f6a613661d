// A schedule raced by three OS processes (pgqrs_schedule_firer), each walking its own
// ManualClock over the same minute: every tick is fired exactly once, by one of them, and the
// message carries it. SQLite and Turso files; Postgres when PGQRS_TEST_POSTGRES_DSN is set.
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/process.h"
#include "common/scratch_dir.h"
#include "pgqrs/pgqrs.h"
#if PGQRS_TEST_WITH_POSTGRES
#include "integration/pg_admin.h"
#endif

namespace {

using namespace std::chrono_literals;
using pgqrs_test::ScratchDir;
using pgqrs_test::Spawn;

constexpr int kProcesses = 3;
constexpr int kSeconds = 40;

// Creates the schedule on `config`, runs the firers, checks one message per tick.
void RaceFirers(const pgqrs::Config& config, const std::string& dsn,
                const std::vector<std::string>& env, const std::filesystem::path& logs) {
  const auto t0 = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto clock = std::make_shared<pgqrs::ManualClock>(t0);
  pgqrs::Store store = pgqrs::connect_with_config(config, clock);
  pgqrs::admin(store).install();
  store.queue("ticks");
  pgqrs::schedule("every-second")
      .every(1s)
      .enqueue_to("ticks", {{"job", "tick"}})
      .catch_up(pgqrs::CatchUp::kAll)
      .create(store);

  const auto start_us =
      std::chrono::duration_cast<std::chrono::microseconds>(t0.time_since_epoch()).count();
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcesses; ++i) {
    // Different step sizes so the processes reach each tick at different moments.
    const int step_ms = 50 + 30 * i;
    const int steps = kSeconds * 1000 / step_ms + 1;
    const std::string log = (logs / ("firer-" + std::to_string(i) + ".log")).string();
    pids.push_back(Spawn({PGQRS_SCHEDULE_FIRER_PATH, dsn, std::to_string(start_us),
                          std::to_string(steps), std::to_string(step_ms)},
                         env, log, log));
    ASSERT_GT(pids.back(), 0);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "see " << logs;
  }
  const auto msgs = pgqrs::admin(store).list_messages("ticks", 1000, true);
  std::set<pgqrs::TimePoint> ticks;
  for (const auto& m : msgs) {
    EXPECT_TRUE(ticks.insert(m.enqueued_at).second) << "a tick fired twice";
  }
  ASSERT_EQ(msgs.size(), static_cast<std::size_t>(kSeconds));
  EXPECT_EQ(*ticks.begin(), t0 + 1s);
  EXPECT_EQ(*ticks.rbegin(), t0 + std::chrono::seconds(kSeconds));
}

class ScheduleMultiprocessTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScheduleMultiprocessTest, ThreeProcessesFireEachTickExactlyOnce) {
  ScratchDir dir("pgqrs-sched-mp");
  std::string dsn;
  std::vector<std::string> env;
  pgqrs::Config config;
  if (GetParam() == "postgres") {
#if PGQRS_TEST_WITH_POSTGRES
    const char* base = std::getenv("PGQRS_TEST_POSTGRES_DSN");
    if (base == nullptr || *base == '\0') {
      GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN is not set: needs a Postgres server";
    }
    pgqrs_test::PgAdmin admin_db(base);
    const std::string schema = admin_db.CreateSchema("sched_mp");
    struct DropAtEnd {
      pgqrs_test::PgAdmin& db;
      std::string schema;
      ~DropAtEnd() { db.DropSchema(schema); }
    } drop{admin_db, schema};
    dsn = base;
    env = {"PGQRS_SCHEMA=" + schema};
    config = pgqrs::Config::from_dsn(dsn);
    config.schema = schema;
    RaceFirers(config, dsn, env, dir.path());
    return;
#else
    GTEST_SKIP() << "this build has PGQRS_WITH_POSTGRES=OFF";
#endif
  }
#if !PGQRS_TEST_WITH_TURSO
  if (GetParam() == "turso") GTEST_SKIP() << "this build has PGQRS_WITH_TURSO=OFF";
#endif
  if (GetParam() == "turso")
    GTEST_SKIP() << "Turso allows one process per file (decision H24, docs/turso.md): several "
                    "processes on one Turso file are refused, as TursoProcesses.* tests; worker "
                    "takeover under SIGKILL is make torture";
  dsn = GetParam() + "://" + (dir.path() / "sched.db").string();
  config = pgqrs::Config::from_dsn(dsn);
  RaceFirers(config, dsn, env, dir.path());
}

INSTANTIATE_TEST_SUITE_P(Backends, ScheduleMultiprocessTest,
                         ::testing::Values("sqlite", "turso", "postgres"));

}  // namespace
