// ISO-8601 UTC formatting for messages (internal).
#pragma once

#include <string>

#include "pgqrs/clock.h"

namespace pgqrs::core {

// "2026-11-22T10:00:00.123Z"
std::string format_time(TimePoint t);

}  // namespace pgqrs::core
