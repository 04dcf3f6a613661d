// Versioned schema migrations for the SQLite family (SPEC §2).
//
// Migration N turns a schema at version N-1 into version N. install() applies each missing
// migration in its own BEGIN IMMEDIATE transaction together with the row that records it in
// pgqrs_schema_version, so a crash leaves the schema at a whole version and two processes
// installing at once serialise (the second finds the work done). The version table itself is
// created (IF NOT EXISTS) in the same transaction as migration 1.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "backend/capabilities/schema.h"
#include "backend/sqlite_family/executor.h"
#include "backend/sqlite_family/session.h"

namespace pgqrs::sqlite_family {

// Applies the missing migrations. Idempotent; safe to run from several processes at once.
void install_schema(Executor& exec, std::int32_t up_to = backend::kSchemaVersion);
// Installed version: nullopt when pgqrs_schema_version does not exist (or is empty).
// ConfigError naming the table when a table of an installed migration is missing.
std::optional<std::int32_t> read_schema_version(Session& s);
// The SQL text of migration `version` (1..kSchemaVersion), and of the version table: for the
// upgrade tests, which build an older schema by hand.
std::string_view migration_sql(std::int32_t version);
std::string_view version_table_sql();
// Drops every table pgqrs created (IF EXISTS; idempotent), in one transaction.
void uninstall_schema(Executor& exec);

}  // namespace pgqrs::sqlite_family
