#include "backend/schema_catalog.h"

#include <array>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::backend {
namespace {

constexpr std::array<std::string_view, 6> kStep1Tables{
    "pgqrs_queues",    "pgqrs_workers",       "pgqrs_messages",
    "pgqrs_workflows", "pgqrs_workflow_runs", "pgqrs_workflow_steps"};

// Flow control (issue 14): queue options and message flow columns are added to the step-1
// tables; the rate-limit window is its own table.
constexpr std::array<std::string_view, 1> kFlowControlTables{"pgqrs_rate_leases"};

// Schedules and retention (issue 14 part B): pgqrs_schedules, pgqrs_maintenance_leases,
// pgqrs_workflows.retain_finished_us and the prune indexes.
constexpr std::array<std::string_view, 2> kStepSchedulesTables{"pgqrs_schedules",
                                                               "pgqrs_maintenance_leases"};

// Tracing (issue 16): traceparent/tracestate columns on pgqrs_messages; no table.
constexpr std::array<std::string_view, 0> kNoTables{};
// Postgres hot path (issues 14 and 17): Postgres objects only (the limited-lease function);
// the SQLite-family text of this step is empty, so versions stay aligned across backends.
constexpr std::array<std::string_view, 0> kStepHotPathTables{};

// Archived counters (issue 16): per-queue archived totals, so scrapes are bounded.
constexpr std::array<std::string_view, 1> kArchivedCountsTables{"pgqrs_archived_counts"};

// Workflow coordination (issue 15): messages to runs, events and streams from runs; child
// runs are pgqrs_workflow_runs rows with parent_run_id / parent_step set.
constexpr std::array<std::string_view, 2> kCoordinationTables{"pgqrs_run_messages",
                                                              "pgqrs_run_events"};

constexpr std::array<SchemaStep, 10> kSteps{{
    {1, "queues, workers, messages, workflow tables", kStep1Tables},
    {2, "flow control: queue options, priorities, dedup and concurrency keys", kFlowControlTables},
    {3, "schedules and retention", kStepSchedulesTables},
    {4, "W3C trace context on messages (traceparent, tracestate)", kNoTables},
    {5, "per-queue archived counters", kArchivedCountsTables},
    {6, "postgres hot path: limited lease in one call", kStepHotPathTables},
    {7, "workflow coordination: messages to runs, events, streams, child runs",
     kCoordinationTables},
    {8, "postgres hot path: held leases out of the dequeue indexes", kStepHotPathTables},
    {9, "postgres hot path: no whole-history worker indexes on messages", kStepHotPathTables},
    {10, "postgres hot path: the dead sweep reads only returned messages", kStepHotPathTables},
}};

static_assert(kSteps.back().version == kSchemaVersion,
              "the last schema step must be backend::kSchemaVersion");

}  // namespace

std::span<const SchemaStep> schema_steps() { return kSteps; }

std::vector<std::string_view> tables_up_to(std::int32_t version) {
  std::vector<std::string_view> out;
  for (const SchemaStep& step : kSteps) {
    if (step.version > version) break;
    // push_back, not a range insert: GCC 12 at -O3 misreports that one (stringop-overflow).
    for (std::string_view table : step.tables) out.push_back(table);
  }
  return out;
}

void throw_incomplete_schema(std::string_view table, std::int32_t version) {
  throw ConfigError("the pgqrs schema is incomplete: table " + std::string(table) +
                    " is missing (schema version " + std::to_string(version) +
                    " is recorded); run uninstall() then install() to recreate it");
}

}  // namespace pgqrs::backend
