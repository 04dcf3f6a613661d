// SqlFamilyBackend::resume_run_now (contract in backend/capabilities/workflows.h): one
// BEGIN IMMEDIATE transaction, so the run cannot leave PAUSED between the check and the wake.
#include <optional>
#include <string>

#include "backend/sqlite_family/sql_backend.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kRunStatusAndMessage[] =
    "SELECT status, message_id FROM pgqrs_workflow_runs WHERE id = ?1";
// Steps waiting until later (a durable sleep, a recv deadline) become due now.
constexpr char kStepsDueNow[] = R"sql(
UPDATE pgqrs_workflow_steps SET retry_at = ?2, updated_at = ?2
WHERE run_id = ?1 AND retry_at > ?2 AND status = 'PAUSED')sql";
// The same text as sql_backend_workflows.cc's (one cached statement): a live run message
// that is invisible and not leased is made visible now.
constexpr char kWakeRunMessage[] = R"sql(
UPDATE pgqrs_messages SET vt = ?2
WHERE id = ?1 AND archived_at IS NULL AND dead_at IS NULL AND vt > ?2
  AND consumer_worker_id IS NULL)sql";

}  // namespace

std::optional<bool> SqlFamilyBackend::resume_run_now(std::int64_t run_id, TimePoint now) {
  return exec_.write("resume_run_now", [&](Session& s) -> std::optional<bool> {
    std::optional<std::int64_t> message_id;
    {
      auto q = s.query(kRunStatusAndMessage);
      q.bind(run_id);
      if (!q.step()) return std::nullopt;
      if (q.text(0) != "PAUSED") return false;
      message_id = q.optional_int64(1);
    }
    s.query(kStepsDueNow).bind(run_id).bind(now).execute();
    if (message_id) s.query(kWakeRunMessage).bind(*message_id).bind(now).execute();
    return true;
  });
}

}  // namespace pgqrs::sqlite_family
