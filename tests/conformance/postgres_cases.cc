#include "conformance/postgres_cases.h"

#include <cstdlib>
#include <random>
#include <stdexcept>

#if PGQRS_TEST_WITH_POSTGRES
#include <libpq-fe.h>
#endif

namespace pgqrs_test {
namespace {

namespace fs = std::filesystem;

constexpr char kDirectDsnVar[] = "PGQRS_TEST_POSTGRES_DSN";
constexpr char kBouncerDsnVar[] = "PGQRS_TEST_PGBOUNCER_DSN";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 12; ++i) out.push_back(kHex[rng() % 16]);
  return out;
}

std::optional<std::string> Unavailable(const char* var) {
#if PGQRS_TEST_WITH_POSTGRES
  if (auto reason = SkipReasonIfEnvMissing(var)) return reason;
  // The schema is always created through the direct connection.
  return SkipReasonIfEnvMissing(kDirectDsnVar);
#else
  (void)var;
  return std::string("this build has PGQRS_WITH_POSTGRES off");
#endif
}

pgqrs::Config MakeConfig(const char* var) {
  pgqrs::Config config = pgqrs::Config::from_dsn(Env(var));
  config.schema = CreateScratchSchema();
  return config;
}

void DropSchema(const pgqrs::Config& config) {
  RunAdminSql("DROP SCHEMA IF EXISTS \"" + config.schema + "\" CASCADE");
}

}  // namespace

void RunAdminSql(const std::string& sql) {
#if PGQRS_TEST_WITH_POSTGRES
  PGconn* conn = PQconnectdb(Env(kDirectDsnVar).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to " + std::string(kDirectDsnVar) + ": " + why);
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  PGresult* res = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
  std::string why = ok ? "" : PQresultErrorMessage(res);
  PQclear(res);
  PQfinish(conn);
  if (!ok) throw std::runtime_error("admin SQL failed: " + why + " (" + sql + ")");
#else
  (void)sql;
  throw std::runtime_error("this build has PGQRS_WITH_POSTGRES off");
#endif
}

std::string CreateScratchSchema() {
  const std::string schema = "pgqrs_t_" + RandomSuffix();
  RunAdminSql("CREATE SCHEMA \"" + schema + "\"");
  return schema;
}

BackendCase PostgresCase() {
  return BackendCase{"postgres",          "postgres",
                     /*persistent=*/true, [](const fs::path&) { return MakeConfig(kDirectDsnVar); },
                     DropSchema,          [] { return Unavailable(kDirectDsnVar); }};
}

BackendCase PgBouncerCase() {
  return BackendCase{
      "pgbouncer",         "postgres",
      /*persistent=*/true, [](const fs::path&) { return MakeConfig(kBouncerDsnVar); },
      DropSchema,          [] { return Unavailable(kBouncerDsnVar); }};
}

}  // namespace pgqrs_test
