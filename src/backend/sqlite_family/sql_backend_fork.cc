// SqlFamilyBackend::fork_run (contract in backend/capabilities/workflows.h).
#include <optional>
#include <string>
#include <vector>

#include "backend/sqlite_family/sql_backend.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kForkSource[] = R"sql(
SELECT w.name, r.input FROM pgqrs_workflow_runs r
JOIN pgqrs_workflows w ON w.id = r.workflow_id WHERE r.id = ?1)sql";

// One step of run ?1 named ?3 copied to run ?2 with its stored times.
constexpr char kCopyStep[] = R"sql(
INSERT INTO pgqrs_workflow_steps
  (run_id, step_name, status, input, output, error, retry_at, retry_count, created_at,
   updated_at)
SELECT ?2, step_name, status, input, output, error, retry_at, retry_count, created_at,
       updated_at
FROM pgqrs_workflow_steps WHERE run_id = ?1 AND step_name = ?3)sql";

// The names in creation order (ids ascend), so the copies keep the source's order.
constexpr char kStepNames[] =
    "SELECT step_name FROM pgqrs_workflow_steps WHERE run_id = ?1 ORDER BY id";

}  // namespace

std::optional<backend::TriggeredRun> SqlFamilyBackend::fork_run(
    std::int64_t source_run_id, const std::vector<std::string>& copy_steps, TimePoint now) {
  return exec_.write("fork_run", [&](Session& s) -> std::optional<backend::TriggeredRun> {
    std::string workflow, input;
    {
      auto q = s.query(kForkSource);
      q.bind(source_run_id);
      if (!q.step()) return std::nullopt;
      workflow = q.text(0);
      input = q.text(1);
    }
    backend::TriggeredRun out = trigger_in(s, workflow, input, now);
    std::vector<std::string> ordered;
    {
      auto q = s.query(kStepNames);
      q.bind(source_run_id);
      while (q.step()) ordered.push_back(q.text(0));
    }
    for (const std::string& name : ordered) {
      if (std::find(copy_steps.begin(), copy_steps.end(), name) == copy_steps.end()) continue;
      s.query(kCopyStep).bind(source_run_id).bind(out.run.id).bind(name).execute();
    }
    return out;
  });
}

}  // namespace pgqrs::sqlite_family
