// Shared helpers of the SQLite driver unit tests (sqlite_family_*_test.cc): backends opened
// through make_sqlite_backend(), and a raw driver connection for tampering and holding
// locks. The contracts of the storage interface are tested on every
// backend by the conformance suite (tests/conformance/contract_*); these tests cover what is
// specific to the SQLite driver. Time is always injected.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/sqlite/sqlite_backend.h"
#include "backend/sqlite/sqlite_driver.h"
#include "common/backend_helpers.h"
#include "common/scratch_dir.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"

namespace pgqrs_sqlite_test {

using namespace std::chrono_literals;
using pgqrs::backend::Backend;
using pgqrs_test::Drain;
using pgqrs_test::Fill;
using pgqrs_test::kT0;
using pgqrs_test::ScratchDir;

// The DSN of a SQLite database at `path` (":memory:" for an in-memory one).
inline std::string sqlite_dsn(const std::string& path) {
  return path == ":memory:" ? "sqlite::memory:" : "sqlite://" + path;
}

inline pgqrs::Config test_config() {
  pgqrs::Config config;
  config.max_connections = 4;
  config.connection_timeout_seconds = 10;
  return config;
}

inline std::unique_ptr<Backend> open_backend(const std::string& path,
                                             const pgqrs::Config& config = test_config()) {
  return pgqrs::backend::make_sqlite_backend(config, pgqrs::backend::parse_dsn(sqlite_dsn(path)));
}

// open_backend(path) with the schema installed.
inline std::unique_ptr<Backend> installed_backend(const std::string& path) {
  auto backend = open_backend(path);
  backend->install();
  return backend;
}

// A raw libsqlite3 connection to `path`, outside the backend (to tamper or hold locks).
inline std::unique_ptr<pgqrs::sqlite_family::Connection> raw_connection(const std::string& path) {
  pgqrs::sqlite::SqliteOptions options;
  options.path = path;
  options.busy_timeout = 2s;
  return pgqrs::sqlite::SqliteDriver(options).open();
}

}  // namespace pgqrs_sqlite_test
