// SqlFamilyBackend: workflow coordination (contracts and the wake-up rule in
// backend/capabilities/coordination.h). Each operation is one BEGIN IMMEDIATE transaction,
// so a wake and the wait it ends are serialised by the write lock: defer_waiting_run's
// re-check can never miss a send or a child's end.
#include <optional>
#include <string>
#include <vector>

#include "backend/coordination_rows.h"
#include "backend/sqlite_family/rows.h"
#include "backend/sqlite_family/run_wake_sql.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {
namespace {

constexpr char kRunMessageAndQueue[] =
    "SELECT r.message_id, w.name FROM pgqrs_workflow_runs r "
    "JOIN pgqrs_workflows w ON w.id = r.workflow_id WHERE r.id = ?1";
constexpr char kRunStatus[] = "SELECT status FROM pgqrs_workflow_runs WHERE id = ?1";

// ---- messages ----

constexpr char kMessageBySendKey[] = "SELECT id FROM pgqrs_run_messages WHERE send_key = ?1";
constexpr char kInsertRunMessage[] = R"sql(
INSERT INTO pgqrs_run_messages (run_id, topic, payload, send_key, created_at)
VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id)sql";
constexpr char kReceivedBy[] = "SELECT " PGQRS_RUN_MESSAGE_COLUMNS
                               " FROM pgqrs_run_messages WHERE run_id = ?1 AND received_step = ?2";
constexpr char kOldestUnread[] = R"sql(
SELECT id FROM pgqrs_run_messages
WHERE run_id = ?1 AND topic = ?2 AND received_step IS NULL ORDER BY id LIMIT 1)sql";
constexpr char kMarkReceived[] =
    "UPDATE pgqrs_run_messages SET received_step = ?2, received_at = ?3 WHERE id = ?1";
constexpr char kListRunMessages[] = "SELECT " PGQRS_RUN_MESSAGE_COLUMNS
                                    " FROM pgqrs_run_messages WHERE run_id = ?1 ORDER BY id "
                                    "LIMIT ?2";
constexpr char kHasUnread[] = R"sql(
SELECT 1 FROM pgqrs_run_messages WHERE run_id = ?1 AND topic = ?2 AND received_step IS NULL
LIMIT 1)sql";

// ---- events ----

constexpr char kInsertRunEvent[] = R"sql(
INSERT INTO pgqrs_run_events (run_id, kind, event_key, value, write_key, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run_id, write_key) DO NOTHING)sql";
constexpr char kReadRunEvents[] = "SELECT " PGQRS_RUN_EVENT_COLUMNS
                                  " FROM pgqrs_run_events WHERE run_id = ?1 AND id > ?2 "
                                  "ORDER BY id LIMIT ?3";
constexpr char kReadRunEventsOfKey[] = "SELECT " PGQRS_RUN_EVENT_COLUMNS
                                       " FROM pgqrs_run_events WHERE run_id = ?1 AND "
                                       "event_key = ?4 AND id > ?2 ORDER BY id LIMIT ?3";
constexpr char kLatestRunEvent[] =
    "SELECT " PGQRS_RUN_EVENT_COLUMNS
    " FROM pgqrs_run_events WHERE run_id = ?1 AND event_key = ?2 AND kind = 'event' "
    "ORDER BY id DESC LIMIT 1";

// ---- children ----

constexpr char kChildOfStep[] =
    "SELECT id, message_id FROM pgqrs_workflow_runs WHERE parent_run_id = ?1 AND parent_step = ?2";
constexpr char kLinkChild[] =
    "UPDATE pgqrs_workflow_runs SET parent_run_id = ?2, parent_step = ?3 WHERE id = ?1";
constexpr char kChildRuns[] = PGQRS_SQL_SELECT_RUNS " WHERE r.parent_run_id = ?1 ORDER BY r.id";
constexpr char kParentRun[] = "SELECT parent_run_id FROM pgqrs_workflow_runs WHERE id = ?1";
constexpr char kRunById[] = PGQRS_SQL_SELECT_RUNS " WHERE r.id = ?1";
// The same text as the message read of sql_backend_messages.cc (one cached statement).
constexpr char kMessageById[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM pgqrs_messages WHERE id = ?1";

// ---- the durable wait ----

constexpr char kSetWaitingChildren[] =
    "UPDATE pgqrs_workflow_runs SET waiting_children = ?2 WHERE id = ?1";
constexpr char kParentWait[] =
    "SELECT waiting_children, message_id FROM pgqrs_workflow_runs WHERE id = ?1";
// As lease_sql.h's kDefer, for one message: ?1 id, ?2 worker, ?3 now, ?4 visible_at.
constexpr char kDeferOne[] =
    "UPDATE pgqrs_messages SET vt = ?4, consumer_worker_id = NULL, "
    "read_ct = MAX(read_ct - 1, 0) WHERE id = ?1 AND consumer_worker_id = ?2 AND vt > ?3 AND "
    "archived_at IS NULL AND dead_at IS NULL";

bool is_final(const std::string& status) {
  return status == "SUCCESS" || status == "ERROR" || status == "CANCELLED";
}

std::optional<std::string> status_of(Session& s, std::int64_t run_id) {
  auto q = s.query(kRunStatus);
  q.bind(run_id);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

std::optional<RunMessage> message_received_by(Session& s, std::int64_t run_id,
                                              std::string_view step) {
  auto q = s.query(kReceivedBy);
  q.bind(run_id).bind(step);
  if (!q.step()) return std::nullopt;
  return backend::read_run_message(QueryRow(q));
}

}  // namespace

// The parent side of a run's end (coordination.h, WAKE-UPS), in the ending transaction:
// counts the parent's wait down and wakes it at 0, or at once when the child failed.
void SqlFamilyBackend::wake_parent_of_ended(Session& s, std::int64_t run_id,
                                            std::string_view status, TimePoint now) {
  std::optional<std::int64_t> parent;
  {
    auto q = s.query(kParentRun);
    q.bind(run_id);
    if (q.step()) parent = q.optional_int64(0);
  }
  if (!parent) return;
  std::int64_t remaining = 0;
  std::optional<std::int64_t> message;
  {
    auto q = s.query(kParentWait);
    q.bind(*parent);
    if (!q.step() || q.is_null(0)) return;  // the parent is not waiting for children
    remaining = q.int64(0) - 1;
    message = q.optional_int64(1);
  }
  s.query(kSetWaitingChildren).bind(*parent).bind(remaining).execute();
  const bool failed = status == "ERROR" || status == "CANCELLED";
  if (message && (remaining <= 0 || failed)) {
    s.query(kWakeRunMessage).bind(*message).bind(now).execute();
  }
}

std::optional<backend::SentToRun> SqlFamilyBackend::send_to_run(
    std::int64_t run_id, std::string_view topic, const std::string& payload,
    const std::optional<std::string>& send_key, TimePoint now) {
  return exec_.write("send_to_run", [&](Session& s) -> std::optional<backend::SentToRun> {
    std::optional<std::int64_t> message_id;
    backend::SentToRun out;
    {
      auto q = s.query(kRunMessageAndQueue);
      q.bind(run_id);
      if (!q.step()) return std::nullopt;
      message_id = q.optional_int64(0);
      out.queue = q.text(1);
    }
    if (send_key) {
      auto q = s.query(kMessageBySendKey);
      q.bind(*send_key);
      if (q.step()) {
        out.id = q.int64(0);
        return out;
      }
    }
    out.id = s.query(kInsertRunMessage)
                 .bind(run_id)
                 .bind(topic)
                 .bind(payload)
                 .bind(send_key)
                 .bind(now)
                 .insert_returning_id();
    if (message_id) s.query(kWakeRunMessage).bind(*message_id).bind(now).execute();
    return out;
  });
}

std::optional<RunMessage> SqlFamilyBackend::receive_run_message(std::int64_t run_id,
                                                                std::string_view topic,
                                                                std::string_view step,
                                                                TimePoint now) {
  return exec_.write("receive_run_message", [&](Session& s) -> std::optional<RunMessage> {
    if (auto taken = message_received_by(s, run_id, step)) return taken;
    std::int64_t id = 0;
    {
      auto q = s.query(kOldestUnread);
      q.bind(run_id).bind(topic);
      if (!q.step()) return std::nullopt;
      id = q.int64(0);
    }
    s.query(kMarkReceived).bind(id).bind(step).bind(now).execute();
    return message_received_by(s, run_id, step);
  });
}

std::vector<RunMessage> SqlFamilyBackend::list_run_messages(std::int64_t run_id,
                                                            std::uint32_t limit) {
  return exec_.read("list_run_messages", [&](Session& s) {
    std::vector<RunMessage> out;
    auto q = s.query(kListRunMessages);
    q.bind(run_id).bind(limit);
    while (q.step()) out.push_back(backend::read_run_message(QueryRow(q)));
    return out;
  });
}

bool SqlFamilyBackend::write_run_event(std::int64_t run_id, RunEventKind kind, std::string_view key,
                                       const std::optional<std::string>& value,
                                       std::string_view write_key, TimePoint now) {
  return exec_.write("write_run_event", [&](Session& s) {
    if (!status_of(s, run_id)) {
      throw ValidationError("workflow run " + std::to_string(run_id) + " does not exist");
    }
    return s.query(kInsertRunEvent)
               .bind(run_id)
               .bind(to_string(kind))
               .bind(key)
               .bind(value)
               .bind(write_key)
               .bind(now)
               .execute() > 0;
  });
}

std::vector<RunEvent> SqlFamilyBackend::read_run_events(std::int64_t run_id,
                                                        const std::optional<std::string>& key,
                                                        std::int64_t after_id,
                                                        std::uint32_t limit) {
  return exec_.read("read_run_events", [&](Session& s) {
    std::vector<RunEvent> out;
    auto q = s.query(key ? kReadRunEventsOfKey : kReadRunEvents);
    q.bind(run_id).bind(after_id).bind(limit);
    if (key) q.bind(*key);
    while (q.step()) out.push_back(backend::read_run_event(QueryRow(q)));
    return out;
  });
}

std::optional<RunEvent> SqlFamilyBackend::latest_run_event(std::int64_t run_id,
                                                           std::string_view key) {
  return exec_.read("latest_run_event", [&](Session& s) -> std::optional<RunEvent> {
    auto q = s.query(kLatestRunEvent);
    q.bind(run_id).bind(key);
    if (!q.step()) return std::nullopt;
    return backend::read_run_event(QueryRow(q));
  });
}

std::optional<backend::TriggeredRun> SqlFamilyBackend::start_child_run(
    std::int64_t parent_run_id, std::string_view parent_step, std::string_view workflow,
    const std::string& input, TimePoint now, const backend::MessageTrace& trace) {
  return exec_.write("start_child_run", [&](Session& s) -> std::optional<backend::TriggeredRun> {
    const auto parent = status_of(s, parent_run_id);
    if (!parent || *parent == "CANCELLING" || is_final(*parent)) return std::nullopt;
    std::optional<std::int64_t> child, message;
    {
      auto q = s.query(kChildOfStep);
      q.bind(parent_run_id).bind(parent_step);
      if (q.step()) {
        child = q.int64(0);
        message = q.optional_int64(1);
      }
    }
    if (!child) {
      auto out = trigger_in(s, workflow, input, now, {}, trace);
      s.query(kLinkChild).bind(out.run.id).bind(parent_run_id).bind(parent_step).execute();
      return out;
    }
    backend::TriggeredRun out;
    {
      auto q = s.query(kRunById);
      q.bind(*child);
      if (!q.step()) throw InternalError("start_child_run: child run is not readable");
      out.run = backend::read_run(QueryRow(q));
    }
    if (message) {
      auto q = s.query(kMessageById);
      q.bind(*message);
      if (q.step()) out.message = backend::read_message(QueryRow(q));
    }
    return out;
  });
}

std::vector<RunRecord> SqlFamilyBackend::child_runs(std::int64_t parent_run_id) {
  return exec_.read("child_runs", [&](Session& s) {
    std::vector<RunRecord> out;
    auto q = s.query(kChildRuns);
    q.bind(parent_run_id);
    while (q.step()) out.push_back(backend::read_run(QueryRow(q)));
    return out;
  });
}

std::optional<std::int64_t> SqlFamilyBackend::parent_run(std::int64_t run_id) {
  return exec_.read("parent_run", [&](Session& s) -> std::optional<std::int64_t> {
    auto q = s.query(kParentRun);
    q.bind(run_id);
    if (!q.step()) return std::nullopt;
    return q.optional_int64(0);
  });
}

bool SqlFamilyBackend::defer_waiting_run(std::int64_t message_id, std::int64_t worker,
                                         TimePoint visible_at, TimePoint now,
                                         const backend::RunWait& wait) {
  return exec_.write("defer_waiting_run", [&](Session& s) {
    bool ready = false;
    if (!wait.children.empty()) {
      std::int64_t running = 0;
      for (const std::int64_t child : wait.children) {
        const auto status = status_of(s, child);
        if (!status) continue;  // deleted: it will never end, so it is not waited for
        if (*status == "ERROR" || *status == "CANCELLED") ready = true;
        if (!is_final(*status)) ++running;
      }
      if (running == 0) ready = true;
      s.query(kSetWaitingChildren).bind(wait.run_id).bind(running).execute();
    }
    if (s.query(kDeferOne).bind(message_id).bind(worker).bind(now).bind(visible_at).execute() ==
        0) {
      return false;
    }
    if (!ready && wait.topic) {
      auto q = s.query(kHasUnread);
      q.bind(wait.run_id).bind(*wait.topic);
      ready = q.step();
    }
    if (ready) s.query(kWakeRunMessage).bind(message_id).bind(now).execute();
    return ready;
  });
}

}  // namespace pgqrs::sqlite_family
