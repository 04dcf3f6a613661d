// Where a torture round runs: a fresh database per backend and round, from the test
// services' environment (scripts/pg-test-server, scripts/s3-test-server).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "pgqrs/pgqrs.h"

namespace pgqrs_torture {

// A fresh, empty database for one round. Postgres: a new schema in the server of
// PGQRS_TEST_POSTGRES_DSN (dropped by the destructor); S3: a new object in
// PGQRS_TEST_S3_BUCKET, durable mode, its cache under `dir` (PGQRS_S3_CACHE_DIR and
// PGQRS_S3_MODE are set in this process's environment, which the workers inherit);
// sqlite / turso: a file in `dir`.
class Target {
 public:
  // nullopt with `why` set when the backend's service is not configured; throws
  // std::invalid_argument for an unknown backend name.
  static std::optional<Target> Make(const std::string& backend, const std::filesystem::path& dir,
                                    unsigned seed, std::string& why);
  ~Target();
  Target(Target&& other) noexcept;
  Target& operator=(Target&&) = delete;
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  const std::string& dsn() const { return dsn_; }
  const std::string& schema() const { return schema_; }
  pgqrs::Store Open() const;

 private:
  Target() = default;
  std::string dsn_;
  std::string schema_ = "public";
  bool drop_schema_ = false;
};

}  // namespace pgqrs_torture
