// Schema step 4 (the W3C trace context on messages) applied to a Postgres schema at version 3
// that holds messages: they survive the upgrade and read back with no trace context; new
// messages store theirs. Runs on the postgres and pgbouncer cases, whose database a direct
// libpq connection can write to as a version-3 build would. The SQLite family shares its
// migration SQL: tests/unit/sqlite_trace_upgrade_test.cc runs it on a SQLite file; Turso and
// S3 execute that same SQL (their conformance runs install it), so they are skipped here.
#include <string>

#include "conformance/backend_fixture.h"
#include "conformance/postgres_cases.h"
#include "core/store_state.h"

namespace pgqrs_test {
namespace {

class TraceUpgradeTest : public ConformanceTest {};

TEST_P(TraceUpgradeTest, VersionThreeMessagesSurviveAndNewOnesCarryTheirContext) {
  if (GetParam().backend != "postgres") {
    GTEST_SKIP() << GetParam().name
                 << ": no raw access to write version-3 rows here; the SQLite-family "
                    "migration is tested on a SQLite file (sqlite_trace_upgrade_test.cc)";
  }
  pgqrs::Store s = MakeStore({}, /*install=*/false);
  auto& backend = *pgqrs::StoreAccess::state(s)->backend;
  backend.install_to(3);
  ASSERT_EQ(backend.schema_version(), 3);
  const auto queue = pgqrs::admin(s).create_queue("old");
  const std::string table = "\"" + s.config().schema + "\".pgqrs_messages";
  RunAdminSql("INSERT INTO " + table + " (queue_id, payload, vt, enqueued_at, read_ct) VALUES (" +
              std::to_string(queue.id) +
              ", '{\"n\":1}', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z', 0)");

  pgqrs::admin(s).install();
  EXPECT_EQ(backend.schema_version(), pgqrs::backend::kSchemaVersion);
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  pgqrs::enqueue().message({{"n", 2}}).to("old").trace_context({tp, "k=v"}).execute(s);
  auto got = pgqrs::dequeue().from("old").batch(2).fetch_all(s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, pgqrs::json({{"n", 1}}));
  EXPECT_FALSE(got[0].traceparent.has_value());
  EXPECT_FALSE(got[0].tracestate.has_value());
  EXPECT_EQ(got[1].traceparent, tp);
  EXPECT_EQ(got[1].tracestate, "k=v");
}

PGQRS_INSTANTIATE_CONFORMANCE(TraceUpgradeTest);

}  // namespace
}  // namespace pgqrs_test
