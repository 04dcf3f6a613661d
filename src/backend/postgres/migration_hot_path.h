// The Postgres text of the schema step "postgres hot path" (issues 14 and 17; decisions F9+,
// P9+). Self-contained: it only adds objects of its own, so a renumber only moves its entry
// in migrations.cc (it must stay after the trace-context step: the function returns
// traceparent and tracestate).
#pragma once

namespace pgqrs::pg {

// Template (sql_text.h): creates {s}.pgqrs_lease_limited, the limited dequeue in one call.
extern const char kMigrationHotPath[];

// Drops what kMigrationHotPath created (uninstall; DROP TABLE does not drop functions).
extern const char kDropHotPath[];

}  // namespace pgqrs::pg
