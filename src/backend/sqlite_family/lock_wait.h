// How long one statement of a SQLite-family engine (libsqlite3, Turso) waits inside the
// engine for another connection's lock before it reports busy (internal).
#pragma once

#include <algorithm>
#include <chrono>

#include "pgqrs/config.h"

namespace pgqrs::sqlite_family {

// A quarter of connection_timeout_seconds, within [10 ms, 5 s]: the family's executor retries
// the whole transaction after a busy statement until the full budget is spent, so this
// leaves room for several retries with jitter.
inline std::chrono::milliseconds statement_lock_wait(const Config& config) {
  using std::chrono::milliseconds;
  const milliseconds budget = std::chrono::seconds(config.connection_timeout_seconds);
  return std::clamp(budget / 4, milliseconds(10), milliseconds(5000));
}

}  // namespace pgqrs::sqlite_family
