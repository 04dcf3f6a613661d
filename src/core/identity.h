// Process identity for worker rows: host name, pid and generated worker names.
#pragma once

#include <cstdint>
#include <string>

namespace pgqrs::core {

const std::string& hostname();
std::int64_t process_id();
// "<hostname>-<random uuid v4>", trimmed to the 128-character name limit.
std::string generated_worker_name();

}  // namespace pgqrs::core
