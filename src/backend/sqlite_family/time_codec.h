// How the SQLite family stores time: INTEGER microseconds since the Unix epoch (UTC).
// Microseconds keep ordering exact and arithmetic cheap in SQL; finer precision of the
// caller's clock is floored away, consistently for every value written and compared.
#pragma once

#include <chrono>
#include <cstdint>

#include "pgqrs/clock.h"

namespace pgqrs::sqlite_family {

inline std::int64_t to_micros(TimePoint t) {
  return std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline TimePoint from_micros(std::int64_t micros) {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::microseconds(micros)));
}

// The value a TimePoint has after a round trip through the database.
inline TimePoint stored(TimePoint t) { return from_micros(to_micros(t)); }

}  // namespace pgqrs::sqlite_family
