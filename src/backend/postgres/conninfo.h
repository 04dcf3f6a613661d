// How the Postgres backend turns the parsed DSN (backend/dsn.h: the libpq URI without the
// pgqrs_* parameters, their values, the redacted form and the secrets) into libpq connection
// parameters. Prepared statements are also turned off automatically when a pooler loses
// them (docs/postgres.md). A URI libpq cannot parse is a ConfigError naming the redacted
// DSN. Passwords never appear in any message (scrub()).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "backend/dsn.h"
#include "pgqrs/config.h"

namespace pgqrs::pg {

struct ConnectOptions {
  std::string uri;                   // the DSN without pgqrs_* parameters; may hold a password
  std::string redacted;              // safe to print
  std::vector<std::string> secrets;  // strings to remove from any message (passwords)
  bool prepared = true;
  bool listen = true;
  std::chrono::seconds connect_timeout{30};  // per attempt and overall (connection_timeout)
  // connect()'s first connection: how long to keep trying (Config::connect_timeout_seconds).
  std::chrono::seconds first_connect_timeout{30};
  // The longest wait for the answer to one request (Config::statement_timeout_seconds, else
  // connection_timeout_seconds); also the server's statement_timeout.
  std::chrono::seconds statement_timeout{30};
};

// Checks the URI with libpq (ConfigError as described above); adds libpq's reading of the
// password to the DSN's secrets.
ConnectOptions parse_connect_options(const backend::Dsn& dsn, const Config& config);

// `message` with every secret replaced by "***".
std::string scrub(std::string message, const ConnectOptions& options);

}  // namespace pgqrs::pg
