// PostgresBackend: workflow coordination (contracts and the wake-up rule in
// backend/capabilities/coordination.h).
//
// Why the wake-ups cannot be lost under READ COMMITTED: a wake (send_to_run here, a child's
// end in finish_run / start_run) UPDATEs the run message's row whatever its state, so it
// takes the row lock; defer_waiting_run first takes the same lock (by deferring) and only
// then, in a later statement with a new snapshot, re-checks the wait. Whichever locks first,
// the other sees its effect: a wake that locked first has committed before the re-check's
// snapshot; a wake that comes second waits for the deferral to commit and then finds the
// message invisible and unleased, and makes it visible. Parents lock their children (FOR
// SHARE) before their own row and their message, the same order as a child's end (child,
// parent, message), so the two never deadlock.
#include <optional>
#include <string>
#include <vector>

#include "backend/coordination_rows.h"
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/rows.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// ---- messages ----

// $1 run, $2 topic, $3 payload, $4 send key (NULL: none), $5 now, $6 channel. Returns (run
// exists, new message id or NULL when the send key was used before, notified, the run's
// queue).
constexpr char kSendToRun[] = R"sql(
WITH r AS (SELECT r.message_id, w.name FROM {s}.pgqrs_workflow_runs r
           JOIN {s}.pgqrs_workflows w ON w.id = r.workflow_id WHERE r.id = $1),
     ins AS (
  INSERT INTO {s}.pgqrs_run_messages (run_id, topic, payload, send_key, created_at)
  SELECT $1, $2, $3, $4, $5 FROM r
  ON CONFLICT (send_key) WHERE send_key IS NOT NULL DO NOTHING
  RETURNING id),
     w AS (
  UPDATE {s}.pgqrs_messages m
  SET vt = CASE WHEN m.consumer_worker_id IS NULL AND m.vt > $5 THEN $5 ELSE m.vt END
  FROM r WHERE m.id = r.message_id AND m.archived_at IS NULL AND m.dead_at IS NULL
    AND EXISTS (SELECT 1 FROM ins)
  RETURNING m.queue_id, m.vt <= $5 AS due),
     n AS (SELECT pg_notify($6, q.queue_name) FROM {s}.pgqrs_queues q
           WHERE q.id IN (SELECT queue_id FROM w WHERE due))
SELECT EXISTS (SELECT 1 FROM r), (SELECT id FROM ins), (SELECT count(*) FROM n),
       (SELECT name FROM r))sql";
constexpr char kMessageBySendKey[] = "SELECT id FROM {s}.pgqrs_run_messages WHERE send_key = $1";

// $1 run, $2 topic, $3 step, $4 now: the message step $3 took before, else the oldest unread
// one of the topic, now marked as taken by it.
constexpr char kReceive[] = R"sql(
WITH prev AS (
  SELECT )sql" PGQRS_RUN_MESSAGE_COLUMNS R"sql( FROM {s}.pgqrs_run_messages
  WHERE run_id = $1 AND received_step = $3),
     pick AS (
  SELECT id AS pick_id FROM {s}.pgqrs_run_messages
  WHERE run_id = $1 AND topic = $2 AND received_step IS NULL
    AND NOT EXISTS (SELECT 1 FROM prev)
  ORDER BY id LIMIT 1 FOR UPDATE),
     taken AS (
  UPDATE {s}.pgqrs_run_messages SET received_step = $3, received_at = $4
  FROM pick WHERE id = pick.pick_id
  RETURNING )sql" PGQRS_RUN_MESSAGE_COLUMNS R"sql()
SELECT * FROM prev UNION ALL SELECT * FROM taken)sql";

constexpr char kListRunMessages[] = "SELECT " PGQRS_RUN_MESSAGE_COLUMNS
                                    " FROM {s}.pgqrs_run_messages WHERE run_id = $1 "
                                    "ORDER BY id LIMIT $2";

// ---- events ----

// $1 run, $2 kind, $3 key, $4 value, $5 write key, $6 now. Returns (run exists, inserted).
constexpr char kWriteRunEvent[] = R"sql(
WITH r AS (SELECT 1 FROM {s}.pgqrs_workflow_runs WHERE id = $1),
     ins AS (
  INSERT INTO {s}.pgqrs_run_events (run_id, kind, event_key, value, write_key, created_at)
  SELECT $1, $2, $3, $4, $5, $6 FROM r
  ON CONFLICT (run_id, write_key) DO NOTHING
  RETURNING 1)
SELECT EXISTS (SELECT 1 FROM r), EXISTS (SELECT 1 FROM ins))sql";
// $1 run, $2 after id, $3 limit, $4 key (NULL: every key).
constexpr char kReadRunEvents[] = "SELECT " PGQRS_RUN_EVENT_COLUMNS
                                  " FROM {s}.pgqrs_run_events WHERE run_id = $1 AND id > $2 "
                                  "ORDER BY id LIMIT $3";
constexpr char kReadRunEventsOfKey[] = "SELECT " PGQRS_RUN_EVENT_COLUMNS
                                       " FROM {s}.pgqrs_run_events WHERE run_id = $1 AND "
                                       "event_key = $4 AND id > $2 ORDER BY id LIMIT $3";
constexpr char kLatestRunEvent[] =
    "SELECT " PGQRS_RUN_EVENT_COLUMNS
    " FROM {s}.pgqrs_run_events WHERE run_id = $1 AND event_key = $2 AND kind = 'event' "
    "ORDER BY id DESC LIMIT 1";

// ---- children ----

// FOR SHARE: a cancel of the parent (an UPDATE of its row) waits until the child is
// committed, so the cancel's cascade sees it.
constexpr char kParentStatus[] =
    "SELECT status FROM {s}.pgqrs_workflow_runs WHERE id = $1 FOR SHARE";
constexpr char kChildOfStep[] =
    "SELECT id, message_id FROM {s}.pgqrs_workflow_runs "
    "WHERE parent_run_id = $1 AND parent_step = $2";
constexpr char kLinkChild[] =
    "UPDATE {s}.pgqrs_workflow_runs SET parent_run_id = $2, parent_step = $3 WHERE id = $1";
constexpr char kRunById[] = PGQRS_PG_SELECT_RUNS " WHERE r.id = $1";
constexpr char kMessageById[] =
    "SELECT " PGQRS_MESSAGE_COLUMNS " FROM {s}.pgqrs_messages WHERE id = $1";
constexpr char kChildRuns[] = PGQRS_PG_SELECT_RUNS " WHERE r.parent_run_id = $1 ORDER BY r.id";
constexpr char kParentRun[] = "SELECT parent_run_id FROM {s}.pgqrs_workflow_runs WHERE id = $1";

// ---- the durable wait ----

// $1 child ids: (not ended yet, failed or cancelled), the children locked FOR SHARE.
constexpr char kLockChildren[] = R"sql(
SELECT count(*) FILTER (WHERE status NOT IN ('SUCCESS', 'ERROR', 'CANCELLED')),
       count(*) FILTER (WHERE status IN ('ERROR', 'CANCELLED'))
FROM (SELECT status FROM {s}.pgqrs_workflow_runs WHERE id = ANY ($1) ORDER BY id FOR SHARE) c)sql";
constexpr char kSetWaitingChildren[] =
    "UPDATE {s}.pgqrs_workflow_runs SET waiting_children = $2 WHERE id = $1";
// As pg_backend_leases.cc's defer, for one message: $1 id, $2 worker, $3 now, $4 visible_at.
constexpr char kDeferOne[] = R"sql(
UPDATE {s}.pgqrs_messages
SET vt = $4, consumer_worker_id = NULL, read_ct = greatest(read_ct - 1, 0)
WHERE id = $1 AND coalesce(consumer_worker_id, 0) = $2 AND vt > $3
  AND coalesce(archived_at, dead_at) IS NULL)sql";
// $1 message, $2 now, $3 ready already, $4 run, $5 topic (NULL: none), $6 channel.
constexpr char kWakeIfReady[] = R"sql(
WITH w AS (
  UPDATE {s}.pgqrs_messages SET vt = $2
  WHERE id = $1 AND vt > $2 AND consumer_worker_id IS NULL
    AND coalesce(archived_at, dead_at) IS NULL
    AND ($3 OR EXISTS (SELECT 1 FROM {s}.pgqrs_run_messages
                       WHERE run_id = $4 AND topic = $5 AND received_step IS NULL))
  RETURNING queue_id),
     n AS (SELECT pg_notify($6, q.queue_name) FROM {s}.pgqrs_queues q
           WHERE q.id IN (SELECT queue_id FROM w))
SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM n))sql";

template <class Record, class Read>
std::vector<Record> read_all(const Result& r, Read read) {
  std::vector<Record> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(PgRow(r, i)));
  return out;
}

Params& text_or_null(Params& p, const std::optional<std::string>& v) {
  return v ? p.text(*v) : p.null(kTextOid);
}

}  // namespace

std::optional<backend::SentToRun> PostgresBackend::send_to_run(
    std::int64_t run_id, std::string_view topic, const std::string& payload,
    const std::optional<std::string>& send_key, TimePoint now) {
  return exec_.transaction("send_to_run", [&](Session& s) -> std::optional<backend::SentToRun> {
    Params p;
    p.int8(run_id).text(topic).jsonb(payload);
    text_or_null(p, send_key).time(now).text(channel_);
    auto r = s.exec(sql_(kSendToRun), p);
    if (!r.boolean(0, 0)) return std::nullopt;
    backend::SentToRun out;
    out.queue = r.text(0, 3);
    if (!r.is_null(0, 1)) {
      out.id = r.int8(0, 1);
      return out;
    }
    auto prev = s.exec(sql_(kMessageBySendKey), Params().text(*send_key));
    if (prev.rows() == 0) throw InternalError("send_to_run: send key neither new nor stored");
    out.id = prev.int8(0, 0);
    return out;
  });
}

std::optional<RunMessage> PostgresBackend::receive_run_message(std::int64_t run_id,
                                                               std::string_view topic,
                                                               std::string_view step,
                                                               TimePoint now) {
  return exec_.write("receive_run_message", [&](Session& s) -> std::optional<RunMessage> {
    auto r = s.exec(sql_(kReceive), Params().int8(run_id).text(topic).text(step).time(now));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_run_message(PgRow(r, 0));
  });
}

std::vector<RunMessage> PostgresBackend::list_run_messages(std::int64_t run_id,
                                                           std::uint32_t limit) {
  return exec_.read("list_run_messages", [&](Session& s) {
    return read_all<RunMessage>(s.exec(sql_(kListRunMessages), Params().int8(run_id).int8(limit)),
                                [](const PgRow& row) { return backend::read_run_message(row); });
  });
}

bool PostgresBackend::write_run_event(std::int64_t run_id, RunEventKind kind, std::string_view key,
                                      const std::optional<std::string>& value,
                                      std::string_view write_key, TimePoint now) {
  auto r = exec_.write("write_run_event", [&](Session& s) {
    Params p;
    p.int8(run_id).text(to_string(kind)).text(key);
    if (value) {
      p.jsonb(*value);
    } else {
      p.null(kJsonbOid);
    }
    p.text(write_key).time(now);
    auto res = s.exec(sql_(kWriteRunEvent), p);
    return std::pair<bool, bool>(res.boolean(0, 0), res.boolean(0, 1));
  });
  if (!r.first) {
    throw ValidationError("workflow run " + std::to_string(run_id) + " does not exist");
  }
  return r.second;
}

std::vector<RunEvent> PostgresBackend::read_run_events(std::int64_t run_id,
                                                       const std::optional<std::string>& key,
                                                       std::int64_t after_id, std::uint32_t limit) {
  return exec_.read("read_run_events", [&](Session& s) {
    Params p;
    p.int8(run_id).int8(after_id).int8(limit);
    if (key) p.text(*key);
    return read_all<RunEvent>(s.exec(sql_(key ? kReadRunEventsOfKey : kReadRunEvents), p),
                              [](const PgRow& row) { return backend::read_run_event(row); });
  });
}

std::optional<RunEvent> PostgresBackend::latest_run_event(std::int64_t run_id,
                                                          std::string_view key) {
  return exec_.read("latest_run_event", [&](Session& s) -> std::optional<RunEvent> {
    auto r = s.exec(sql_(kLatestRunEvent), Params().int8(run_id).text(key));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_run_event(PgRow(r, 0));
  });
}

std::optional<backend::TriggeredRun> PostgresBackend::start_child_run(
    std::int64_t parent_run_id, std::string_view parent_step, std::string_view workflow,
    const std::string& input, TimePoint now, const backend::MessageTrace& trace) {
  return exec_.transaction(
      "start_child_run", [&](Session& s) -> std::optional<backend::TriggeredRun> {
        auto parent = s.exec(sql_(kParentStatus), Params().int8(parent_run_id));
        if (parent.rows() == 0) return std::nullopt;
        const std::string status = parent.text(0, 0);
        if (status == "CANCELLING" || status == "SUCCESS" || status == "ERROR" ||
            status == "CANCELLED") {
          return std::nullopt;
        }
        auto existing = s.exec(sql_(kChildOfStep), Params().int8(parent_run_id).text(parent_step));
        if (existing.rows() == 0) {
          auto out = trigger_in(s, NotifyIn::kStatement, workflow, input, now, {}, trace);
          s.exec(sql_(kLinkChild), Params().int8(out.run.id).int8(parent_run_id).text(parent_step));
          return out;
        }
        backend::TriggeredRun out;
        auto run = s.exec(sql_(kRunById), Params().int8(existing.int8(0, 0)));
        if (run.rows() == 0) throw InternalError("start_child_run: child run is not readable");
        out.run = backend::read_run(PgRow(run, 0));
        if (!existing.is_null(0, 1)) {
          auto m = s.exec(sql_(kMessageById), Params().int8(existing.int8(0, 1)));
          if (m.rows() > 0) out.message = backend::read_message(PgRow(m, 0));
        }
        return out;
      });
}

std::vector<RunRecord> PostgresBackend::child_runs(std::int64_t parent_run_id) {
  return exec_.read("child_runs", [&](Session& s) {
    return read_all<RunRecord>(s.exec(sql_(kChildRuns), Params().int8(parent_run_id)),
                               [](const PgRow& row) { return backend::read_run(row); });
  });
}

std::optional<std::int64_t> PostgresBackend::parent_run(std::int64_t run_id) {
  return exec_.read("parent_run", [&](Session& s) -> std::optional<std::int64_t> {
    auto r = s.exec(sql_(kParentRun), Params().int8(run_id));
    if (r.rows() == 0 || r.is_null(0, 0)) return std::nullopt;
    return r.int8(0, 0);
  });
}

bool PostgresBackend::defer_waiting_run(std::int64_t message_id, std::int64_t worker,
                                        TimePoint visible_at, TimePoint now,
                                        const backend::RunWait& wait) {
  return exec_.transaction("defer_waiting_run", [&](Session& s) {
    bool ready = false;
    if (!wait.children.empty()) {
      auto c = s.exec(sql_(kLockChildren), Params().int8_array(wait.children));
      const std::int64_t running = c.int8(0, 0);
      ready = running == 0 || c.int8(0, 1) > 0;
      s.exec(sql_(kSetWaitingChildren),
             Params().int8(wait.run_id).int4(static_cast<std::int32_t>(running)));
    }
    Params d;
    d.int8(message_id).int8(worker).time(now).time(visible_at);
    if (s.exec(sql_(kDeferOne), d).affected() == 0) return false;
    if (!ready && !wait.topic) return false;
    Params w;
    w.int8(message_id).time(now).boolean(ready).int8(wait.run_id);
    text_or_null(w, wait.topic).text(channel_);
    return s.exec(sql_(kWakeIfReady), w).int8(0, 0) > 0;
  });
}

}  // namespace pgqrs::pg
