// Versioned schema migrations for the Postgres backend (SPEC §2).
//
// Every table lives in the configured schema. pgqrs_schema_version has one row per applied
// migration. install() runs, in one transaction holding a per-schema advisory lock (so
// concurrent installers in several processes are safe), every migration newer than the
// recorded version; it is idempotent. uninstall() drops every pgqrs table of the schema in
// one statement (never the schema itself, and never objects pgqrs did not create: if the
// user's own objects depend on a pgqrs table it fails with ConflictError).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "backend/capabilities/schema.h"
#include "backend/postgres/executor.h"
#include "backend/postgres/sql_text.h"

namespace pgqrs::pg {

void install_schema(Executor& exec, StatementCache& sql, const std::string& schema,
                    std::int32_t up_to = backend::kSchemaVersion);
// Installed version, nullopt when there is no version table (or it is empty). ConfigError
// when a table of an applied migration is missing.
std::optional<std::int32_t> read_schema_version(Session& s, StatementCache& sql);
void uninstall_schema(Executor& exec, StatementCache& sql);

}  // namespace pgqrs::pg
