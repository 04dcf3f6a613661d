// Serialising workflow values (step outputs, run outputs, errors) for storage (internal).
#pragma once

#include <string>

#include "pgqrs/records.h"

namespace pgqrs::core {

// The JSON text of `value`, or SerializationError naming `what` when it cannot be stored as
// JSON (non-finite numbers, invalid UTF-8, binary). With `lenient`, such values are dumped
// with replacement characters instead (for error reports, which must always be recorded).
std::string serialise_result(const json& value, const std::string& what, bool lenient = false);

}  // namespace pgqrs::core
