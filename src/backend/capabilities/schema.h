// SchemaStore: the capability that installs, reports and removes a backend's tables.
// Shared contracts of every capability: see backend/backend.h.
#pragma once

#include <cstdint>
#include <optional>

namespace pgqrs::backend {

// Schema version installed by this build (bumped by each new migration).
inline constexpr std::int32_t kSchemaVersion = 10;

class SchemaStore {
 public:
  virtual ~SchemaStore() = default;
  // Creates the tables, or upgrades them to kSchemaVersion. Idempotent.
  virtual void install() = 0;
  // Creates or upgrades the tables to `version` (1..kSchemaVersion) only: how upgrade tests
  // build an older schema with data in it before install() upgrades it.
  virtual void install_to(std::int32_t version) = 0;
  // Installed version, or nullopt when no pgqrs schema is present. Throws ConfigError if
  // the version table exists but a table is missing.
  virtual std::optional<std::int32_t> schema_version() = 0;
  virtual void uninstall() = 0;
};

}  // namespace pgqrs::backend
