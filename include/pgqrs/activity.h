// Activity counts: workers by queue and state, workflow runs by definition and status, and
// step retries by definition — the aggregates a metrics endpoint or a dashboard scrapes
// (pgqrs serve /metrics, docs/observability.md). Obtained with Admin::activity_metrics().
//
// Every list is one bounded GROUP BY per backend: its length grows with the number of
// queues and workflow definitions, never with the number of messages or runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgqrs/records.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

// Workers of one queue (nullopt: workers bound to no queue, e.g. admin or producer-only
// workers) in one state. oldest_heartbeat_age = now - the oldest heartbeat in the group
// (never negative).
struct WorkerStateCount {
  std::optional<std::string> queue_name;
  WorkerStatus status = WorkerStatus::kReady;
  std::uint64_t count = 0;
  std::chrono::milliseconds oldest_heartbeat_age{0};
};

// Runs of one workflow definition in one status.
struct RunStatusCount {
  std::string workflow_name;
  WorkflowStatus status = WorkflowStatus::kQueued;
  std::uint64_t count = 0;
};

// Sum of StepRecord::retry_count over every step of every run of one workflow definition;
// every registered definition is listed, with 0 when nothing was retried.
struct StepRetryTotal {
  std::string workflow_name;
  std::uint64_t retries = 0;
};

// Sorted by (queue, status), (workflow, status) and workflow; worker and run groups with no
// rows are absent.
struct ActivityMetrics {
  std::vector<WorkerStateCount> workers;
  std::vector<RunStatusCount> runs;
  std::vector<StepRetryTotal> step_retries;
};

}  // namespace pgqrs
