// Schema step "per-queue archived counters" (W8) applied to a Postgres schema at version 3 that
// holds archived, live and dead messages: the step backfills each queue's counter from its
// archived rows, and archiving after the upgrade adds to it. Runs on the postgres and pgbouncer
// cases (a direct libpq connection writes the version-3 rows); the SQLite family's migration is
// tested on a SQLite file (tests/unit/sqlite_archived_counts_upgrade_test.cc), and Turso and S3
// execute that same SQL, so they are skipped here.
#include <string>

#include "conformance/backend_fixture.h"
#include "conformance/postgres_cases.h"
#include "core/store_state.h"

namespace pgqrs_test {
namespace {

class ArchivedCountsUpgradeTest : public ConformanceTest {};

TEST_P(ArchivedCountsUpgradeTest, BackfillsEachQueueFromItsArchivedRows) {
  if (GetParam().backend != "postgres") {
    GTEST_SKIP() << GetParam().name
                 << ": no raw access to write version-3 rows here; the SQLite-family "
                    "migration is tested on a SQLite file (sqlite_archived_counts_upgrade_test.cc)";
  }
  pgqrs::Store s = MakeStore({}, /*install=*/false);
  auto& backend = *pgqrs::StoreAccess::state(s)->backend;
  backend.install_to(3);
  ASSERT_EQ(backend.schema_version(), 3);
  const auto a = std::to_string(pgqrs::admin(s).create_queue("a").id);
  const auto b = std::to_string(pgqrs::admin(s).create_queue("b").id);
  const std::string table = "\"" + s.config().schema + "\".pgqrs_messages";
  const std::string t = "'2000-01-01T00:00:00Z'";
  const std::string cols = " (queue_id, payload, vt, enqueued_at, read_ct, archived_at, dead_at) ";
  std::string rows;
  for (int i = 0; i < 3; ++i)
    rows += "(" + a + ", '{}', " + t + ", " + t + ", 1, " + t + ", NULL), ";
  rows += "(" + a + ", '{}', " + t + ", " + t + ", 0, NULL, NULL), ";
  rows += "(" + b + ", '{}', " + t + ", " + t + ", 1, " + t + ", NULL), ";
  rows += "(" + b + ", '{}', " + t + ", " + t + ", 5, NULL, " + t + ")";
  RunAdminSql("INSERT INTO " + table + cols + "VALUES " + rows);

  pgqrs::admin(s).install();
  EXPECT_EQ(backend.schema_version(), pgqrs::backend::kSchemaVersion);
  pgqrs::admin(s).install();  // idempotent: no second backfill
  EXPECT_EQ(pgqrs::admin(s).queue_metrics("a").archived, 3U);
  EXPECT_EQ(pgqrs::admin(s).queue_metrics("b").archived, 1U);
  EXPECT_EQ(pgqrs::admin(s).queue_metrics("b").dead, 1U);

  auto c = pgqrs::consumer("c", "a").create(s);
  auto got = c.dequeue(10);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_TRUE(c.archive(got[0].id));
  EXPECT_EQ(pgqrs::admin(s).queue_metrics("a").archived, 4U);
}

PGQRS_INSTANTIATE_CONFORMANCE(ArchivedCountsUpgradeTest);

}  // namespace
}  // namespace pgqrs_test
