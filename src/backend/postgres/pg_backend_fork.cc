// PostgresBackend::fork_run (contract in backend/capabilities/workflows.h).
#include <optional>
#include <string>
#include <vector>

#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"

namespace pgqrs::pg {
namespace {

// The source run's workflow name and input; KEY SHARE so it cannot be deleted (pruned)
// while it is copied.
constexpr char kForkSource[] = R"sql(
SELECT w.name, r.input::text FROM {s}.pgqrs_workflow_runs r
JOIN {s}.pgqrs_workflows w ON w.id = r.workflow_id
WHERE r.id = $1 FOR KEY SHARE OF r)sql";

// $1 source run, $2 new run, $3 step names: copied in their creation order (ids ascend),
// with their stored times.
constexpr char kCopySteps[] = R"sql(
INSERT INTO {s}.pgqrs_workflow_steps
  (run_id, step_name, status, input, output, error, retry_at, retry_count, created_at,
   updated_at)
SELECT $2, step_name, status, input, output, error, retry_at, retry_count, created_at,
       updated_at
FROM {s}.pgqrs_workflow_steps
WHERE run_id = $1 AND step_name = ANY ($3::text[])
ORDER BY id)sql";

}  // namespace

std::optional<backend::TriggeredRun> PostgresBackend::fork_run(
    std::int64_t source_run_id, const std::vector<std::string>& copy_steps, TimePoint now) {
  return exec_.transaction("fork_run", [&](Session& s) -> std::optional<backend::TriggeredRun> {
    auto src = s.exec(sql_(kForkSource), Params().int8(source_run_id));
    if (src.rows() == 0) return std::nullopt;
    const std::string workflow = src.text(0, 0);
    const std::string input = src.text(0, 1);
    backend::TriggeredRun out = trigger_in(s, NotifyIn::kStatement, workflow, input, now);
    if (!copy_steps.empty()) {
      s.exec(sql_(kCopySteps),
             Params().int8(source_run_id).int8(out.run.id).text_array(copy_steps));
    }
    return out;
  });
}

}  // namespace pgqrs::pg
