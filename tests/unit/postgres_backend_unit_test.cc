// Unit tests of the Postgres backend's pieces that need no server: DSN handling and
// password scrubbing, the retry classification (which failures are retried, which are
// reported as an unknown commit outcome), the binary codec, SQL text for a schema, and
// statement names. The server-side behaviour is covered by the conformance suite and the
// integration tests (tests/integration/postgres_*_test.cc).
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "backend/dsn.h"
#include "backend/postgres/connection.h"
#include "backend/postgres/conninfo.h"
#include "backend/postgres/executor.h"
#include "backend/postgres/pq.h"
#include "backend/postgres/sql_text.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

ConnectOptions Parse(const std::string& dsn) {
  Config config = Config::from_dsn(dsn);
  return parse_connect_options(backend::parse_dsn(dsn), config);
}

// ---- DSN ------------------------------------------------------------------------------------

TEST(PostgresConninfo, PgqrsParametersAreTakenOutAndTheRestKeptInOrder) {
  auto o = Parse(
      "postgresql://u:pw@db.example:5433/app?sslmode=disable&pgqrs_prepared=false&"
      "application_name=x&pgqrs_listen=off");
  EXPECT_EQ(o.uri, "postgresql://u:pw@db.example:5433/app?sslmode=disable&application_name=x");
  EXPECT_FALSE(o.prepared);
  EXPECT_FALSE(o.listen);
  auto d = Parse("postgres://u@h/db");
  EXPECT_EQ(d.uri, "postgres://u@h/db");
  EXPECT_TRUE(d.prepared);
  EXPECT_TRUE(d.listen);
}

TEST(PostgresConninfo, UnknownPgqrsParameterOrBadFlagIsConfigErrorWithoutThePassword) {
  try {
    Parse("postgresql://u:Secret1@h/db?pgqrs_nope=1");
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("pgqrs_nope"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Secret1"), std::string::npos) << msg;
  }
  EXPECT_THROW(Parse("postgresql://u@h/db?pgqrs_prepared=sometimes"), ConfigError);
  EXPECT_THROW(Parse("postgresql://u@h/db?nosuchlibpqoption=1"), ConfigError);
}

TEST(PostgresConninfo, ScrubRemovesThePasswordInEveryFormItWasGiven) {
  auto o = Parse("postgresql://u:p%40ss%2Fw0rd@h/db");
  EXPECT_EQ(scrub("x p%40ss%2Fw0rd y p@ss/w0rd z", o), "x *** y *** z");
  auto q = Parse("postgresql://u@h/db?password=Hunter22");
  EXPECT_EQ(scrub("failed for Hunter22", q), "failed for ***");
}

TEST(PostgresConninfo, ConnectTimeoutComesFromTheConfig) {
  Config config = Config::from_dsn("postgresql://u@h/db");
  config.connection_timeout_seconds = 7;
  auto o = parse_connect_options(backend::parse_dsn(config.dsn), config);
  EXPECT_EQ(o.connect_timeout, std::chrono::seconds(7));
}

// ---- retry classification ------------------------------------------------------------------

PgError Server(const std::string& sqlstate, bool broken = false) {
  return PgError(PgError::Kind::kServer, sqlstate, "server said no", broken);
}
PgError Lost() { return PgError(PgError::Kind::kLost, "", "connection lost", true); }
PgError NotSent() { return PgError(PgError::Kind::kNotSent, "", "not sent", true); }

TEST(PostgresClassification, ALostWriteWhoseCommitWasSentHasAnUnknownOutcome) {
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Lost()), Verdict::kOutcomeUnknown);
  EXPECT_EQ(classify_failure(OpKind::kTransaction, false, true, Lost()), Verdict::kOutcomeUnknown);
}

TEST(PostgresClassification, ALostTransactionBeforeCommitWasRolledBackAndIsRetried) {
  EXPECT_EQ(classify_failure(OpKind::kTransaction, false, false, Lost()), Verdict::kRetry);
}

TEST(PostgresClassification, ReadsAndIdempotentOperationsAreRetriedAfterAnyConnectionLoss) {
  EXPECT_EQ(classify_failure(OpKind::kRead, true, true, Lost()), Verdict::kRetry);
  EXPECT_EQ(classify_failure(OpKind::kTransaction, true, true, Lost()), Verdict::kRetry);
}

TEST(PostgresClassification, ARequestThatNeverLeftIsRetried) {
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, NotSent()), Verdict::kRetry);
}

TEST(PostgresClassification, AServerThatEndedTheSessionWithAnErrorRolledBack) {
  // pg_terminate_backend / fast shutdown: FATAL 57P01 instead of the statement's result.
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Server("57P01", true)), Verdict::kRetry);
  EXPECT_EQ(classify_failure(OpKind::kTransaction, false, true, Server("57P01", true)),
            Verdict::kRetry);
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Server("08006", true)), Verdict::kRetry);
}

TEST(PostgresClassification, ContentionIsRetriedOtherServerErrorsFail) {
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Server("40001")),
            Verdict::kRetryAfterContention);
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Server("40P01")),
            Verdict::kRetryAfterContention);
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Server("26000")),
            Verdict::kRetryUnprepared);
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Server("23505")), Verdict::kFail);
  EXPECT_EQ(classify_failure(OpKind::kRead, true, false, Server("42P01")), Verdict::kFail);
  EXPECT_EQ(classify_failure(OpKind::kWrite, false, true, Server("57014")), Verdict::kFail)
      << "a cancelled statement (statement_timeout) is not the end of the session";
}

// ---- codec, SQL text, statement names -----------------------------------------------------

TEST(PostgresCodec, TimesAreMicrosecondsSince2000Floored) {
  EXPECT_EQ(to_pg_micros(TimePoint(std::chrono::seconds(946684800))), 0);
  const TimePoint t = TimePoint(std::chrono::seconds(1700000000)) + std::chrono::nanoseconds(1999);
  EXPECT_EQ(stored(t), TimePoint(std::chrono::seconds(1700000000)) + std::chrono::microseconds(1));
  EXPECT_EQ(from_pg_micros(to_pg_micros(stored(t))), stored(t));
}

TEST(PostgresCodec, ParamsAreBinaryWithExplicitTypesAndNulls) {
  Params p;
  p.int8(-2).int4(7).boolean(true).text("q").jsonb("{}").null(kTextOid).int8_array({1, 2});
  ASSERT_EQ(p.size(), 7);
  EXPECT_EQ(p.types()[0], kInt8Oid);
  EXPECT_EQ(p.types()[4], kJsonbOid);
  EXPECT_EQ(p.types()[6], kInt8ArrayOid);
  const auto values = p.values();
  EXPECT_EQ(p.lengths()[0], 8);
  EXPECT_EQ(static_cast<unsigned char>(values[0][7]), 0xfe);  // -2, big-endian
  EXPECT_EQ(p.lengths()[4], 3);                               // version byte + "{}"
  EXPECT_EQ(values[4][0], '\1');
  EXPECT_EQ(values[5], nullptr);
  EXPECT_EQ(p.lengths()[6], 20 + 2 * (4 + 8));  // array header + two (length, int8)
  for (int i = 0; i < p.size(); ++i) EXPECT_EQ(p.formats()[i], 1);
}

TEST(PostgresCodec, ResultDecodesBinaryColumns) {
  PGresult* raw = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  PGresAttDesc attrs[3] = {};
  char n0[] = "id", n1[] = "payload", n2[] = "ids";
  attrs[0] = {n0, 0, 0, 1, kInt8Oid, 8, -1};
  attrs[1] = {n1, 0, 0, 1, kJsonbOid, -1, -1};
  attrs[2] = {n2, 0, 0, 1, kInt8ArrayOid, -1, -1};
  ASSERT_TRUE(PQsetResultAttrs(raw, 3, attrs));
  Params p;
  p.int8(42).jsonb(R"({"a":1})").int8_array({5, 6, 7});
  const auto values = p.values();
  for (int c = 0; c < 3; ++c) {
    ASSERT_TRUE(PQsetvalue(raw, 0, c, const_cast<char*>(values[static_cast<std::size_t>(c)]),
                           p.lengths()[c]));
  }
  Result r{ResultPtr(raw)};
  EXPECT_EQ(r.int8(0, 0), 42);
  EXPECT_EQ(r.text(0, 1), R"({"a":1})");
  EXPECT_EQ(r.int8_array(0, 2), (std::vector<std::int64_t>{5, 6, 7}));
  EXPECT_THROW(r.time(0, 0), InternalError) << "a type mismatch is a bug, reported as such";
}

TEST(PostgresSqlText, OnlyTheQuotedSchemaIsSubstituted) {
  EXPECT_EQ(with_schema("SELECT 1 FROM {s}.a JOIN {s}.b ON true", "\"my_s\""),
            "SELECT 1 FROM \"my_s\".a JOIN \"my_s\".b ON true");
  StatementCache cache("\"x\"");
  static constexpr char kTemplate[] = "SELECT * FROM {s}.t WHERE id = $1";
  const Statement& a = cache(kTemplate);
  EXPECT_EQ(a.sql, "SELECT * FROM \"x\".t WHERE id = $1");
  EXPECT_EQ(&cache(kTemplate), &a) << "built once per template";
}

TEST(PostgresSqlText, StatementNamesFollowTheTextSoSharedSessionsNeverMixThemUp) {
  const Statement a = make_statement("SELECT * FROM \"s1\".t");
  const Statement b = make_statement("SELECT * FROM \"s2\".t");
  EXPECT_NE(a.name, b.name);
  EXPECT_EQ(a.name, make_statement("SELECT * FROM \"s1\".t").name);
  EXPECT_EQ(a.name.rfind("pgqrs_", 0), 0u);
}

}  // namespace
}  // namespace pgqrs::pg
