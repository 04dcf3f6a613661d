// How the Postgres backend turns a pgqrs DSN into libpq connection parameters.
//
// The DSN is a libpq URI (postgresql://user:pass@host:port/db?param=value...). Query
// parameters whose name starts with "pgqrs_" are pgqrs options and are removed before the
// URI reaches libpq:
//   pgqrs_prepared=true|false  server-side prepared statements (default true; they are also
//                              turned off automatically when a pooler loses them, see
//                              docs/postgres.md)
//   pgqrs_listen=true|false    the LISTEN connection for wake-ups (default true)
// An unknown pgqrs_* parameter, a bad value, or a URI libpq cannot parse is a ConfigError
// naming the redacted DSN. Passwords never appear in any message (scrub()).
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
};

// Throws ConfigError as described above.
ConnectOptions parse_connect_options(const backend::Dsn& dsn, const Config& config);

// `message` with every secret replaced by "***".
std::string scrub(std::string message, const ConnectOptions& options);

}  // namespace pgqrs::pg
