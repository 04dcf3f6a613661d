// DSN parsing and redaction (SPEC §1): every scheme's forms, and bad DSNs as ConfigError
// that names the problem without the password.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "backend/dsn.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"
#include "pgqrs/store.h"

using pgqrs::backend::parse_dsn;
using pgqrs::backend::Scheme;

TEST(Dsn, SqliteAbsoluteRelativeAndMemory) {
  EXPECT_EQ(parse_dsn("sqlite:///var/lib/q.db").path(), "/var/lib/q.db");
  EXPECT_EQ(parse_dsn("sqlite://rel/q.db").path(), "rel/q.db");
  EXPECT_TRUE(parse_dsn("sqlite::memory:").in_memory());
  EXPECT_EQ(parse_dsn("sqlite::memory:").scheme(), Scheme::kSqlite);
}

TEST(Dsn, PostgresBothSchemes) {
  EXPECT_EQ(parse_dsn("postgresql://u:p@h:5432/db").scheme(), Scheme::kPostgres);
  EXPECT_EQ(parse_dsn("postgres://localhost/db?sslmode=require").scheme(), Scheme::kPostgres);
}

TEST(Dsn, TursoAndS3) {
  EXPECT_EQ(parse_dsn("turso:///tmp/x.db").path(), "/tmp/x.db");
  auto s3 = parse_dsn("s3://my-bucket/dir/queue.sqlite");
  EXPECT_EQ(s3.scheme(), Scheme::kS3);
  EXPECT_EQ(s3.bucket(), "my-bucket");
  EXPECT_EQ(s3.key(), "dir/queue.sqlite");
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

// ---- one value: the Postgres options, secrets and errors come from the same parse --------

TEST(Dsn, PostgresOptionsAreParsedWithTheDsn) {
  auto dsn = parse_dsn(
      "postgresql://u:pw@db.example:5433/app?sslmode=disable&pgqrs_prepared=false&"
      "application_name=x&pgqrs_listen=off");
  EXPECT_EQ(dsn.postgres().uri,
            "postgresql://u:pw@db.example:5433/app?sslmode=disable&application_name=x");
  EXPECT_FALSE(dsn.postgres().prepared);
  EXPECT_FALSE(dsn.postgres().listen);
  auto plain = parse_dsn("postgres://u@h/db");
  EXPECT_EQ(plain.postgres().uri, "postgres://u@h/db");
  EXPECT_TRUE(plain.postgres().prepared);
  EXPECT_TRUE(plain.postgres().listen);
}

TEST(Dsn, BadPgqrsParameterIsAConfigErrorNamingItWithoutThePassword) {
  for (const char* text : {"postgresql://u:Secret1@h/db?pgqrs_nope=1",
                           "postgresql://u:Secret1@h/db?pgqrs_listen=sometimes"}) {
    try {
      parse_dsn(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const pgqrs::ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("invalid dsn 'postgresql://u:***@h/db?pgqrs_"), std::string::npos) << msg;
      EXPECT_TRUE(msg.find("pgqrs_nope") != std::string::npos ||
                  msg.find("sometimes") != std::string::npos)
          << msg;
      EXPECT_EQ(msg.find("Secret1"), std::string::npos) << msg;
    }
  }
}

TEST(Dsn, SecretsHoldEveryReadingOfThePasswordRawAndDecoded) {
  auto dsn = parse_dsn("postgresql://u:p%40ss%2Fw0rd@h/db?password=Hunter22");
  EXPECT_EQ(dsn.scrub("x p%40ss%2Fw0rd y p@ss/w0rd z Hunter22"), "x *** y *** z ***");
  // Both readings of an unencoded '@': libpq's (through the first '@') and the last-'@' one.
  auto at = parse_dsn("postgresql://u:abcd@efgh@h/db");
  EXPECT_EQ(at.scrub("abcd@efgh / abcd"), "*** / ***");
  EXPECT_EQ(at.redacted(), "postgresql://u:***@h/db");
  // The DSN text is there for drivers only; nothing else in the value shows the password.
  EXPECT_EQ(at.reveal(), "postgresql://u:abcd@efgh@h/db");
  EXPECT_TRUE(parse_dsn("sqlite:///tmp/q.db").secrets().empty());
}

TEST(Dsn, FailNamesTheRedactedDsnAndScrubsTheReason) {
  auto dsn = parse_dsn("postgresql://u:Secret1@h/db");
  try {
    dsn.fail("libpq said Secret1 is wrong");
    FAIL();
  } catch (const pgqrs::ConfigError& e) {
    EXPECT_STREQ(e.what(), "invalid dsn 'postgresql://u:***@h/db': libpq said *** is wrong");
  }
}

TEST(Dsn, SqliteFileTakesAnyPathWithoutShapeChecks) {
  auto dsn = pgqrs::backend::Dsn::sqlite_file("/tmp/cache?dir/q.db");
  EXPECT_EQ(dsn.scheme(), Scheme::kSqlite);
  EXPECT_EQ(dsn.path(), "/tmp/cache?dir/q.db");
  EXPECT_FALSE(dsn.in_memory());
  EXPECT_TRUE(pgqrs::backend::Dsn().in_memory());
}

// The public helpers behind the CLI's scrubbing work on any text, also an invalid DSN.
TEST(Dsn, ScrubDsnHidesTheDsnAndItsPasswordsInAMessage) {
  const std::string raw = "mysql://u:hunter2@h/db";
  EXPECT_EQ(pgqrs::scrub_dsn("cannot open " + raw + " (hunter2)", raw),
            "cannot open mysql://u:***@h/db (***)");
  EXPECT_EQ(pgqrs::scrub_dsn("p%40ss and p@ss", "postgres://u:p%40ss@h/db"), "*** and ***");
  // Shorter than 3 bytes: left alone, or every "a" of a message would go.
  EXPECT_EQ(pgqrs::scrub_dsn("a cat", "postgres://u:a@h/db"), "a cat");
}

// fuzz/open/dsn_fuzz-password-copies-overlap (now in fuzz/corpus/dsn_fuzz): a password=
// value copied elsewhere, between ':' and '@', stayed in the redacted text, because the
// redaction and the Postgres backend's secret list were two parsers. With one, no secret of
// 4+ bytes is left in redacted().
TEST(Dsn, NoSecretOfFourOrMoreBytesSurvivesRedaction) {
  std::ifstream in(
      std::string(PGQRS_SOURCE_DIR) + "/fuzz/corpus/dsn_fuzz/regress-password-copies-overlap",
      std::ios::binary);
  ASSERT_TRUE(in) << "corpus input missing";
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> inputs = {
      text,
      "postgresql://u:p@h/db?password=f%01x:/:&a=:f%01x:/:@h",
      "postgresql://u:ab**@h/db?password=ab**&x=abab**ab**",
  };
  for (const std::string& input : inputs) {
    const auto dsn = parse_dsn(input);
    for (const std::string& secret : dsn.secrets()) {
      if (secret.size() < 4 || secret.find("***") != std::string::npos) continue;
      EXPECT_EQ(dsn.redacted().find(secret), std::string::npos)
          << "a " << secret.size() << "-byte secret is shown";
    }
  }
}

// Config::load applies explicit values before it validates: an overridden variable cannot
// fail the load, and the DSN is left for connect to parse.
TEST(Dsn, LoadOverridesTakeThePlaceOfTheEnvironmentBeforeValidation) {
  ::setenv("PGQRS_SCHEMA", "not a schema", 1);
  ::setenv("PGQRS_DSN", "nosuch://x", 1);
  EXPECT_THROW(pgqrs::Config::load(), pgqrs::ConfigError);
  pgqrs::ConfigOverrides overrides;
  overrides.schema = "app";
  overrides.dsn = "sqlite::memory:";
  const pgqrs::Config config = pgqrs::Config::load(std::nullopt, overrides);
  EXPECT_EQ(config.schema, "app");
  EXPECT_EQ(config.dsn, "sqlite::memory:");
  ::unsetenv("PGQRS_SCHEMA");
  overrides.dsn.reset();
  EXPECT_EQ(pgqrs::Config::load(std::nullopt, overrides).dsn, "nosuch://x");  // not parsed yet
  ::unsetenv("PGQRS_DSN");
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
