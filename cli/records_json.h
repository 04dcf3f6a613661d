// Records -> JSON for `--format json`. The keys are part of the CLI's stable interface
// (docs/cli.md): snake_case, timestamps as ISO-8601 UTC strings, absent values as null.
#pragma once

#include <vector>

#include "pgqrs/pgqrs.h"

namespace pgqrs::cli {

nlohmann::json to_json(const QueueOptions& o);
nlohmann::json to_json(const QueueInfo& q);
nlohmann::json to_json(const QueueMessage& m);
nlohmann::json to_json(const WorkerInfo& w);
nlohmann::json to_json(const QueueMetrics& m);
nlohmann::json to_json(const SystemStats& s);
nlohmann::json to_json(const WorkerStats& s);
nlohmann::json to_json(const WorkerHealth& h);
nlohmann::json to_json(const SchemaInfo& s);
nlohmann::json to_json(const WorkflowRecord& w);
nlohmann::json to_json(const RunRecord& r);
nlohmann::json to_json(const StepRecord& s);
// A schedule; with `upcoming` > 0 also its next `upcoming` fire times ("upcoming", empty
// while paused).
nlohmann::json to_json(const ScheduleRecord& s, std::size_t upcoming = 0);
// Messages to a run and what it wrote (pgqrs/coordination.h).
nlohmann::json to_json(const RunMessage& m);
nlohmann::json to_json(const RunEvent& e);

// A JSON array of to_json(item) for each item.
template <typename T>
nlohmann::json to_json_array(const std::vector<T>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back(to_json(item));
  return out;
}

}  // namespace pgqrs::cli
