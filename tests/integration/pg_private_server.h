// A PRIVATE PostgreSQL server for one integration test binary (scripts/pg-test-server
// start/stop), for tests that terminate, restart or starve the server of its clients, so
// tests running in parallel on the shared server are not disturbed. Started on first use
// (ctest runs each test in its own process; only the tests that need it pay for an initdb)
// and stopped at exit by a gtest environment. Header-only; PGQRS_PG_TEST_SERVER is the
// script's path.
#pragma once

#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "integration/process_util.h"

namespace pgqrs_test {

struct PrivateServer {
  std::string dir;
  std::string dsn;
  std::string bouncer_dsn;  // its PgBouncer (transaction pooling)
  std::string error;        // why it could not be started
};

// Runs `cmd` in sh; its stdout, or std::runtime_error if it failed.
inline std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd);
  return out;
}

inline bool g_private_server_used = false;

inline PrivateServer& Server() {
  static PrivateServer server = [] {
    PrivateServer s;
    char tmpl[] = "/tmp/pgqrs-faults-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      s.error = "mkdtemp failed";
      return s;
    }
    s.dir = tmpl;
    try {
      const std::string out =
          Shell(std::string(PGQRS_PG_TEST_SERVER) + " start " + s.dir + " 2>/dev/null");
      std::istringstream lines(out);
      std::string line;
      const std::string key = "export PGQRS_TEST_POSTGRES_DSN=";
      const std::string bouncer_key = "export PGQRS_TEST_PGBOUNCER_DSN=";
      while (std::getline(lines, line)) {
        if (line.starts_with(key)) s.dsn = line.substr(key.size());
        if (line.starts_with(bouncer_key)) s.bouncer_dsn = line.substr(bouncer_key.size());
      }
      if (s.dsn.empty()) s.error = "pg-test-server printed no DSN";
    } catch (const std::exception& e) {
      s.error = e.what();
    }
    return s;
  }();
  return server;
}

class PrivateServerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!g_private_server_used || Server().dir.empty()) return;
    try {
      Shell(std::string(PGQRS_PG_TEST_SERVER) + " stop " + Server().dir + " 2>/dev/null");
    } catch (const std::exception&) {
    }
  }
};

inline const auto* const kPrivateServerEnvironment =
    ::testing::AddGlobalTestEnvironment(new PrivateServerEnvironment());

inline void RestartServer() {
  Shell(std::string(PGQRS_PG_TEST_SERVER) + " restart " + Server().dir);
}

// The shared server's DSN (read-only tests) or a skip.
#define REQUIRE_SHARED_SERVER()                                                    \
  const std::string shared_dsn = Env("PGQRS_TEST_POSTGRES_DSN");                   \
  if (shared_dsn.empty()) {                                                        \
    GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN is not set: needs a Postgres server"; \
  }

// The private server's DSN in `dsn`, or a skip / failure.
#define REQUIRE_PRIVATE_SERVER()                                               \
  REQUIRE_SHARED_SERVER();                                                     \
  g_private_server_used = true;                                                \
  ASSERT_TRUE(Server().error.empty()) << "private server: " << Server().error; \
  const std::string dsn = Server().dsn

}  // namespace pgqrs_test
