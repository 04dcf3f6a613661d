// What this build of pgqrs is: the library version, the schema version it installs and
// the backends compiled in (the PGQRS_WITH_* options). `pgqrs --version` prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgqrs {

struct BuildInfo {
  std::string library_version;        // "0.1.0"
  std::int32_t schema_version = 0;    // the version `install` creates and `verify` expects
  std::vector<std::string> backends;  // DSN schemes that open, e.g. {"sqlite", "postgresql"}
};

BuildInfo build_info();

}  // namespace pgqrs
