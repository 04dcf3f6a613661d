#include "torture/torture_backend.h"

#include <cstdlib>
#include <iostream>
#include <random>
#include <stdexcept>

namespace pgqrs_torture {
namespace {

void RunSql(const pgqrs::Store& store, const std::string& sql) {
  auto tx = pgqrs::postgres::begin(store);
  tx.execute(sql);
  tx.commit();
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

std::optional<Target> Target::Make(const std::string& backend, const std::filesystem::path& dir,
                                   unsigned seed, std::string& why) {
  Target t;
  std::random_device rd;
  const std::string unique = std::to_string(seed) + "_" + std::to_string(rd() % 1000000u);
  if (backend == "sqlite" || backend == "turso") {
    t.dsn_ = backend + "://" + (dir / "torture.db").string();
  } else if (backend == "postgres") {
    t.dsn_ = Env("PGQRS_TEST_POSTGRES_DSN");
    if (t.dsn_.empty()) {
      why = "PGQRS_TEST_POSTGRES_DSN is not set (run under scripts/pg-test-server)";
      return std::nullopt;
    }
    t.schema_ = "pgqrs_torture_" + unique;
    RunSql(pgqrs::connect(t.dsn_), "CREATE SCHEMA " + t.schema_);
    t.drop_schema_ = true;
  } else if (backend == "s3") {
    const std::string bucket = Env("PGQRS_TEST_S3_BUCKET");
    if (bucket.empty()) {
      why = "PGQRS_TEST_S3_BUCKET is not set (run under scripts/s3-test-server)";
      return std::nullopt;
    }
    t.dsn_ = "s3://" + bucket + "/torture-" + unique + ".sqlite";
    ::setenv("PGQRS_S3_CACHE_DIR", (dir / "s3-cache").c_str(), 1);
    ::setenv("PGQRS_S3_MODE", "durable", 1);
  } else {
    throw std::invalid_argument("unknown backend '" + backend +
                                "' (expected sqlite, postgres, turso or s3)");
  }
  return t;
}

Target::Target(Target&& other) noexcept
    : dsn_(std::move(other.dsn_)),
      schema_(std::move(other.schema_)),
      drop_schema_(other.drop_schema_) {
  other.drop_schema_ = false;
}

Target::~Target() {
  if (!drop_schema_) return;
  try {
    RunSql(pgqrs::connect(dsn_), "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  } catch (const std::exception& e) {
    std::cerr << "[torture] could not drop schema " << schema_ << ": " << e.what() << "\n";
  }
}

pgqrs::Store Target::Open() const {
  pgqrs::Config config = pgqrs::Config::load();
  config.dsn = dsn_;
  config.schema = schema_;
  return pgqrs::connect_with_config(config);
}

}  // namespace pgqrs_torture
