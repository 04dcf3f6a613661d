// Records -> text tables and field lists for the default `--format table` output.
#pragma once

#include <vector>

#include "output.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs::cli {

// "dead", "archived", "leased", "delayed" or "pending", judged at `now`.
std::string message_state(const QueueMessage& m, TimePoint now);

Table queues_table(const std::vector<QueueInfo>& queues);
Table messages_table(const std::vector<QueueMessage>& messages, TimePoint now);
Table workers_table(const std::vector<WorkerInfo>& workers);
Table metrics_table(const std::vector<QueueMetrics>& metrics);
Table health_table(const std::vector<WorkerHealth>& health);
Table workflows_table(const std::vector<WorkflowRecord>& workflows);
Table runs_table(const std::vector<RunRecord>& runs);
Table steps_table(const std::vector<StepRecord>& steps);

Fields queue_fields(const QueueInfo& q);
Fields worker_fields(const WorkerInfo& w);
Fields metrics_fields(const QueueMetrics& m);
Fields system_stats_fields(const SystemStats& s);
Fields worker_stats_fields(const WorkerStats& s);
Fields run_fields(const RunRecord& r);

}  // namespace pgqrs::cli
