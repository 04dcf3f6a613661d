// Safe upgrades, the version half (docs/workflows.md "Safe upgrades"): every run records the
// application version of the store that triggered it (Config::app_version), and workflow
// workers execute only runs of their own version (or unversioned ones, or any run when the
// worker is unversioned). A run whose version no live worker serves is stranded: list them,
// then migrate them to a version that is served (after checking its code can replay them --
// Run::patched guards the differences).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/store.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

struct StrandedRun {
  std::int64_t run_id = 0;
  std::string workflow;
  std::string app_version;
  WorkflowStatus status = WorkflowStatus::kQueued;
};

// Unfinished runs (QUEUED, RUNNING, PAUSED) whose app version no live worker of their
// workflow serves: no worker of the workflow's queue that is ready or polling, heartbeat
// within `heartbeat_timeout`, and unversioned or of that version. Oldest first, at most
// `limit`.
std::vector<StrandedRun> stranded_runs(
    const Store& store, std::chrono::seconds heartbeat_timeout = std::chrono::seconds(60),
    std::uint32_t limit = 1000);

// Moves unfinished runs to app version `to` ("" = unversioned: any worker may run them):
// those of version `from` ("" = unversioned; nullopt = any version) and of `workflow`
// (nullopt = every workflow). Returns how many. ValidationError for a malformed version.
std::uint64_t migrate_runs(const Store& store, std::string_view to,
                           const std::optional<std::string>& from = std::nullopt,
                           const std::optional<std::string>& workflow = std::nullopt);

}  // namespace pgqrs
