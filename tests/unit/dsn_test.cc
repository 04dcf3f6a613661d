// DSN parsing and redaction (SPEC §1): every scheme's forms, and bad DSNs as ConfigError
// that names the problem without the password.
#include <gtest/gtest.h>

#include "backend/dsn.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"
#include "pgqrs/store.h"

using pgqrs::backend::parse_dsn;
using pgqrs::backend::Scheme;

TEST(Dsn, SqliteAbsoluteRelativeAndMemory) {
  EXPECT_EQ(parse_dsn("sqlite:///var/lib/q.db").path, "/var/lib/q.db");
  EXPECT_EQ(parse_dsn("sqlite://rel/q.db").path, "rel/q.db");
  EXPECT_TRUE(parse_dsn("sqlite::memory:").in_memory());
  EXPECT_EQ(parse_dsn("sqlite::memory:").scheme, Scheme::kSqlite);
}

TEST(Dsn, PostgresBothSchemes) {
  EXPECT_EQ(parse_dsn("postgresql://u:p@h:5432/db").scheme, Scheme::kPostgres);
  EXPECT_EQ(parse_dsn("postgres://localhost/db?sslmode=require").scheme, Scheme::kPostgres);
}

TEST(Dsn, TursoAndS3) {
  EXPECT_EQ(parse_dsn("turso:///tmp/x.db").path, "/tmp/x.db");
  auto s3 = parse_dsn("s3://my-bucket/dir/queue.sqlite");
  EXPECT_EQ(s3.scheme, Scheme::kS3);
  EXPECT_EQ(s3.bucket, "my-bucket");
  EXPECT_EQ(s3.key, "dir/queue.sqlite");
}

TEST(Dsn, BadDsnsAreConfigErrorsThatSayWhy) {
  struct Case {
    const char* dsn;
    const char* says;
  } cases[] = {
      {"", "no dsn"},
      {"mysql://h/db", "unknown scheme 'mysql'"},
      {"just-text", "unknown scheme"},
      {"sqlite://", "missing file path"},
      {"sqlite:///tmp/dir/", "directory"},
      {"sqlite:///tmp/q.db?mode=ro", "query parameters"},
      {"turso::memory:", "turso"},
      {"s3://bucket", "expected s3://bucket/key.sqlite"},
      {"s3://bucket/", "missing object key"},
      {"s3://Bad_Bucket/k.sqlite", "invalid characters"},
      {"postgresql://", "expected postgresql://"},
  };
  for (const auto& c : cases) {
    try {
      parse_dsn(c.dsn);
      ADD_FAILURE() << "accepted " << c.dsn;
    } catch (const pgqrs::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos)
          << c.dsn << " -> " << e.what();
    }
  }
}

TEST(Dsn, ErrorsNeverContainThePassword) {
  try {
    parse_dsn("mysql://user:hunter2@host/db");
    FAIL();
  } catch (const pgqrs::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

TEST(Dsn, RedactHidesPasswords) {
  EXPECT_EQ(pgqrs::redact_dsn("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(pgqrs::redact_dsn("postgresql://h/db?password=secret&x=1"),
            "postgresql://h/db?password=***&x=1");
  EXPECT_EQ(pgqrs::redact_dsn("sqlite:///tmp/q.db"), "sqlite:///tmp/q.db");
  EXPECT_EQ(pgqrs::redact_dsn("postgresql://u@h/db"), "postgresql://u@h/db");
}

// Found by fuzz/dsn_fuzz: a password that also appears later in the DSN (pasted twice, or
// typed into the host) was shown there.
TEST(Dsn, RedactHidesEveryCopyOfThePassword) {
  EXPECT_EQ(pgqrs::redact_dsn("postgres://u:p%40ss@hostp%40ss/db?application_name=p%40ss"),
            "postgres://u:***@host***/db?application_name=***");
  // An unencoded '@' in the password: all of it is hidden.
  EXPECT_EQ(pgqrs::redact_dsn("postgresql://u:p@ss@localhost/db"),
            "postgresql://u:***@localhost/db");
  // libpq reads a '?' before the '@' as part of the password, so redaction does too.
  EXPECT_EQ(pgqrs::redact_dsn("postgresql://u:pa?ss@localhost/db"),
            "postgresql://u:***@localhost/db");
  // Short passwords are masked only where they stand, so the rest stays readable.
  EXPECT_EQ(pgqrs::redact_dsn("postgresql://u:a@localhost/db"), "postgresql://u:***@localhost/db");
}

TEST(Dsn, UnbuiltBackendIsAConfigError) {
  // Postgres is not part of this build yet; connect must say so, not crash.
  auto cfg = pgqrs::Config::from_dsn("turso:///tmp/pgqrs-unbuilt.db");
  try {
    pgqrs::connect_with_config(cfg);
  } catch (const pgqrs::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("not available"), std::string::npos) << e.what();
  } catch (...) {
    FAIL() << "expected ConfigError";
  }
}
