#include "records_json.h"

#include "output.h"

namespace pgqrs::cli {

namespace {

using nlohmann::json;

json opt(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<TimePoint>& v) { return v ? json(format_time(*v)) : json(nullptr); }
json opt(const std::optional<json>& v) { return v ? *v : json(nullptr); }

}  // namespace

// Durations in seconds (fractions for sub-second values); unset options are null.
static json seconds(const std::optional<Duration>& d) {
  if (!d) return nullptr;
  return std::chrono::duration<double>(*d).count();
}

json to_json(const QueueOptions& o) {
  json rate = nullptr;
  if (o.rate_limit) {
    rate = {{"count", o.rate_limit->count}, {"period_seconds", seconds(o.rate_limit->period)}};
  }
  return {{"concurrency", opt(o.concurrency)},
          {"worker_concurrency", opt(o.worker_concurrency)},
          {"key_concurrency", opt(o.key_concurrency)},
          {"rate_limit", rate},
          {"retain_archived_seconds", seconds(o.retain_archived)},
          {"retain_dead_seconds", seconds(o.retain_dead)}};
}

json to_json(const QueueInfo& q) {
  return {{"id", q.id},
          {"queue_name", q.queue_name},
          {"created_at", format_time(q.created_at)},
          {"options", to_json(q.options)}};
}

json to_json(const QueueMessage& m) {
  return {{"id", m.id},
          {"queue_id", m.queue_id},
          {"payload", m.payload},
          {"vt", format_time(m.vt)},
          {"enqueued_at", format_time(m.enqueued_at)},
          {"read_ct", m.read_ct},
          {"dequeued_at", opt(m.dequeued_at)},
          {"producer_worker_id", opt(m.producer_worker_id)},
          {"consumer_worker_id", opt(m.consumer_worker_id)},
          {"archived_at", opt(m.archived_at)},
          {"priority", m.priority},
          {"dedup_key", m.dedup_key ? json(*m.dedup_key) : json(nullptr)},
          {"concurrency_key", m.concurrency_key ? json(*m.concurrency_key) : json(nullptr)},
          {"dead_at", opt(m.dead_at)}};
}

json to_json(const WorkerInfo& w) {
  return {{"id", w.id},
          {"name", w.name},
          {"kind", std::string(to_string(w.kind))},
          {"queue_id", opt(w.queue_id)},
          {"hostname", w.hostname},
          {"pid", w.pid},
          {"status", std::string(to_string(w.status))},
          {"started_at", format_time(w.started_at)},
          {"heartbeat_at", format_time(w.heartbeat_at)},
          {"shutdown_at", opt(w.shutdown_at)}};
}

json to_json(const QueueMetrics& m) {
  return {{"queue_id", m.queue_id},
          {"queue_name", m.queue_name},
          {"pending", m.pending},
          {"delayed", m.delayed},
          {"leased", m.leased},
          {"archived", m.archived},
          {"dead", m.dead},
          {"oldest_pending_age_ms",
           m.oldest_pending_age ? json(m.oldest_pending_age->count()) : json(nullptr)}};
}

json to_json(const SystemStats& s) {
  return {{"queues", s.queues},     {"workers", s.workers}, {"active_workers", s.active_workers},
          {"pending", s.pending},   {"delayed", s.delayed}, {"leased", s.leased},
          {"archived", s.archived}, {"dead", s.dead},       {"schema_version", s.schema_version},
          {"backend", s.backend}};
}

json to_json(const WorkerStats& s) {
  return {{"queue_name", s.queue_name}, {"total", s.total},
          {"ready", s.ready},           {"polling", s.polling},
          {"suspended", s.suspended},   {"interrupted", s.interrupted},
          {"stopped", s.stopped},       {"leased_messages", s.leased_messages}};
}

json to_json(const WorkerHealth& h) {
  json out = to_json(h.worker);
  out["healthy"] = h.healthy;
  out["since_heartbeat_ms"] = h.since_heartbeat.count();
  return out;
}

json to_json(const SchemaInfo& s) {
  return {{"version", s.version}, {"expected_version", s.expected_version}};
}

json to_json(const WorkflowRecord& w) {
  return {{"id", w.id},
          {"name", w.name},
          {"queue_id", w.queue_id},
          {"created_at", format_time(w.created_at)}};
}

json to_json(const RunRecord& r) {
  return {{"id", r.id},
          {"workflow_id", r.workflow_id},
          {"workflow_name", r.workflow_name},
          {"message_id", opt(r.message_id)},
          {"status", std::string(to_string(r.status))},
          {"input", r.input},
          {"output", opt(r.output)},
          {"error", opt(r.error)},
          {"created_at", format_time(r.created_at)},
          {"updated_at", format_time(r.updated_at)}};
}

json to_json(const StepRecord& s) {
  return {{"id", s.id},
          {"run_id", s.run_id},
          {"step_name", s.step_name},
          {"status", std::string(to_string(s.status))},
          {"input", opt(s.input)},
          {"output", opt(s.output)},
          {"error", opt(s.error)},
          {"retry_at", opt(s.retry_at)},
          {"retry_count", s.retry_count},
          {"created_at", format_time(s.created_at)},
          {"updated_at", format_time(s.updated_at)}};
}

json to_json(const ScheduleRecord& s, std::size_t upcoming) {
  json j = {
      {"id", s.id},
      {"name", s.name},
      {"cron", s.cron ? json(*s.cron) : json(nullptr)},
      {"every_seconds",
       s.every ? json(std::chrono::duration_cast<std::chrono::seconds>(*s.every).count())
               : json(nullptr)},
      {"time_zone", s.time_zone},
      {"target_kind", s.target_kind == ScheduleTarget::kQueue ? "queue" : "workflow"},
      {"target", s.target},
      {"payload", s.payload},
      {"catch_up", to_string(s.catch_up)},
      {"paused", s.paused},
      {"next_fire_at", s.paused ? json(nullptr) : json(format_time(s.next_fire_at))},
      {"last_fire_at", s.last_fire_at ? json(format_time(*s.last_fire_at)) : json(nullptr)},
      {"created_at", format_time(s.created_at)},
  };
  if (upcoming > 0) {
    json next = json::array();
    if (!s.paused) {
      // From the stored next tick on (it is due now when next_fire_at <= now).
      const TimePoint from = s.next_fire_at - std::chrono::microseconds(1);
      for (TimePoint t : upcoming_fire_times(s, from, upcoming)) next.push_back(format_time(t));
    }
    j["upcoming"] = next;
  }
  return j;
}

json to_json(const RunMessage& m) {
  return {{"id", m.id},
          {"run_id", m.run_id},
          {"topic", m.topic},
          {"payload", m.payload},
          {"created_at", format_time(m.created_at)},
          {"received_at", opt(m.received_at)},
          {"received_by", m.received_by ? json(*m.received_by) : json(nullptr)}};
}

json to_json(const RunEvent& e) {
  return {{"id", e.id},   {"run_id", e.run_id}, {"kind", std::string(to_string(e.kind))},
          {"key", e.key}, {"value", e.value},   {"created_at", format_time(e.created_at)}};
}

}  // namespace pgqrs::cli
