// The change watcher's reads by message id (watch_queries.h) walk only the rowid, on each
// SQLite-family engine: the watcher runs them after almost every commit to the file, so a plan
// that reads an index of the whole message table costs CPU that grows with the table.
// Checked through EXPLAIN QUERY PLAN on a database with the full schema and messages in it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/sqlite_family/watch_queries.h"
#include "sqlite_family_test_support.h"

#if PGQRS_TEST_WITH_TURSO
#include "backend/turso/turso_backend.h"
#include "backend/turso/turso_driver.h"
#endif

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers
using pgqrs::sqlite_family::Connection;

struct EngineCase {
  std::string name;
  std::function<std::unique_ptr<Backend>(const std::string& path)> open;
  std::function<std::unique_ptr<Connection>(const std::string& path)> connect;  // raw
};

void PrintTo(const EngineCase& c, std::ostream* os) { *os << c.name; }

std::vector<EngineCase> Engines() {
  std::vector<EngineCase> cases;
  cases.push_back(EngineCase{"sqlite", [](const std::string& path) { return open_backend(path); },
                             [](const std::string& path) { return raw_connection(path); }});
#if PGQRS_TEST_WITH_TURSO
  cases.push_back(
      EngineCase{"turso",
                 [](const std::string& path) {
                   return pgqrs::backend::make_turso_backend(
                       test_config(), pgqrs::backend::parse_dsn("turso://" + path));
                 },
                 [](const std::string& path) {
                   pgqrs::turso::TursoOptions options;  // opened as the backend opens it
                   options.path = path;
                   options.experimental_features = pgqrs::turso::kMultiprocessWal;
                   return pgqrs::turso::TursoDriver(options).open();
                 }});
#endif
  return cases;
}

// The detail lines of EXPLAIN QUERY PLAN `sql`, one per line.
std::string query_plan(Connection& conn, const std::string& sql) {
  auto plan = conn.prepare("EXPLAIN QUERY PLAN " + sql);
  if (sql.find("?1") != std::string::npos) plan->bind_int64(1, 0);
  std::string details;
  while (plan->step()) details += plan->column_text(3) + "\n";
  return details;
}

class WatchPlanTest : public ::testing::TestWithParam<EngineCase> {};
INSTANTIATE_TEST_SUITE_P(Engines, WatchPlanTest, ::testing::ValuesIn(Engines()),
                         [](const ::testing::TestParamInfo<EngineCase>& param_info) {
                           return param_info.param.name;
                         });

TEST_P(WatchPlanTest, ReadsByMessageIdUseTheRowidNeverAnIndexOfTheTable) {
  ScratchDir dir;
  const std::string path = dir.file("watch.db");
  auto backend = GetParam().open(path);
  backend->install();
  backend->create_queue("q", kT0);
  Fill(*backend, "q", 20);
  auto conn = GetParam().connect(path);
  for (const std::string sql :
       {pgqrs::sqlite_family::kMessagesAfterSql, pgqrs::sqlite_family::kLastMessageIdSql}) {
    const std::string plan = query_plan(*conn, sql);
    EXPECT_NE(plan.find("pgqrs_messages"), std::string::npos) << sql << "\n" << plan;
    EXPECT_EQ(plan.find("INDEX"), std::string::npos) << sql << "\n" << plan;
  }
}

}  // namespace
