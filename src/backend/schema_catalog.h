// The schema's migrations as every backend shares them: version, description and the tables
// each creates (SPEC §2). Each backend supplies only the SQL text of each version in its
// dialect (postgres/migrations.cc, sqlite_family/migrations.cc), indexed by version - 1.
//
// ADDING A MIGRATION: append a step here (the next version), bump kSchemaVersion
// (capabilities/schema.h), and add its SQL to each backend's list; the static_asserts there
// fail until every backend has it. Test it from the previous schema with data in it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "backend/capabilities/schema.h"

namespace pgqrs::backend {

struct SchemaStep {
  std::int32_t version;
  std::string_view description;
  std::span<const std::string_view> tables;  // tables this step creates
};

// Every step, ascending by version; the last one's version is kSchemaVersion.
std::span<const SchemaStep> schema_steps();

// The tables of every step up to `version` (recorded as installed), in creation order.
std::vector<std::string_view> tables_up_to(std::int32_t version);

// ConfigError: `table` of an installed schema version is missing.
[[noreturn]] void throw_incomplete_schema(std::string_view table, std::int32_t version);

}  // namespace pgqrs::backend
