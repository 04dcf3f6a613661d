// install() into a Postgres schema that already holds pgqrs tables this pgqrs did not
// install (the original pgqrs package creates tables of the same names): a ConfigError that
// says what and how to go on, and nothing in the schema is created, changed or dropped.
//
// Needs PGQRS_TEST_POSTGRES_DSN; skipped with that reason otherwise.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/expect_throw.h"
#include "integration/pg_admin.h"
#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs_test {
namespace {

TEST(PostgresForeignSchema, InstallOverAnotherPackagesTablesIsConfigErrorAndChangesNothing) {
  const std::string dsn = Env("PGQRS_TEST_POSTGRES_DSN");
  if (dsn.empty()) GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN is not set: needs a Postgres server";
  PgAdmin db(dsn);
  const std::string schema = db.CreateSchema("foreign");
  const std::string q = "\"" + schema + "\"";
  // The shape of the original package's queue table, with a row in it.
  db.Exec("CREATE TABLE " + q + ".pgqrs_queues (id bigserial PRIMARY KEY, queue_name text)");
  db.Exec("INSERT INTO " + q + ".pgqrs_queues (queue_name) VALUES ('theirs')");

  pgqrs::Config config = pgqrs::Config::from_dsn(dsn);
  config.schema = schema;
  pgqrs::Store store = pgqrs::connect_with_config(config);
  const std::string message = ExpectThrowMessage<pgqrs::ConfigError>(
      [&] { pgqrs::admin(store).install(); }, "install over foreign tables");
  EXPECT_NE(message.find("pgqrs_queues"), std::string::npos) << message;
  EXPECT_NE(message.find("another schema"), std::string::npos) << message;

  EXPECT_EQ(db.Value("SELECT count(*) FROM " + q + ".pgqrs_queues"), "1");
  EXPECT_EQ(db.Value("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
                     "information_schema.tables WHERE table_schema = '" +
                     schema + "'"),
            "pgqrs_queues")
      << "install must not leave its own tables behind";
  db.DropSchema(schema);
}

}  // namespace
}  // namespace pgqrs_test
