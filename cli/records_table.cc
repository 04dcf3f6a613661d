#include "records_table.h"

namespace pgqrs::cli {

namespace {

constexpr std::size_t kPayloadWidth = 60;
constexpr std::size_t kStepValueWidth = 40;

std::string opt_age(const std::optional<std::chrono::milliseconds>& age) {
  return age ? format_age(*age) : std::string("-");
}

std::string str(std::uint64_t v) { return std::to_string(v); }

// Optional JSON for a cell: compact text cut to `max`, or "-" when absent.
std::string opt_json(const std::optional<nlohmann::json>& v, std::size_t max = std::string::npos) {
  return v ? truncate(compact_json(*v), max) : std::string("-");
}

}  // namespace

std::string message_state(const QueueMessage& m, TimePoint now) {
  if (m.dead_at) return "dead";
  if (m.archived_at) return "archived";
  if (m.vt > now) return m.consumer_worker_id ? "leased" : "delayed";
  return "pending";
}

Table queues_table(const std::vector<QueueInfo>& queues) {
  Table t({"ID", "NAME", "CREATED_AT"});
  for (const auto& q : queues) {
    t.add_row({std::to_string(q.id), q.queue_name, format_time(q.created_at)});
  }
  return t;
}

Table messages_table(const std::vector<QueueMessage>& messages, TimePoint now) {
  Table t({"ID", "QUEUE_ID", "STATE", "READ_CT", "VT", "ENQUEUED_AT", "CONSUMER", "PAYLOAD"});
  for (const auto& m : messages) {
    t.add_row({std::to_string(m.id), std::to_string(m.queue_id), message_state(m, now),
               std::to_string(m.read_ct), format_time(m.vt), format_time(m.enqueued_at),
               or_dash(m.consumer_worker_id), truncate(compact_json(m.payload), kPayloadWidth)});
  }
  return t;
}

Table workers_table(const std::vector<WorkerInfo>& workers) {
  Table t({"ID", "NAME", "KIND", "QUEUE_ID", "STATUS", "HOST", "PID", "HEARTBEAT_AT"});
  for (const auto& w : workers) {
    t.add_row({std::to_string(w.id), w.name, std::string(to_string(w.kind)), or_dash(w.queue_id),
               std::string(to_string(w.status)), w.hostname, std::to_string(w.pid),
               format_time(w.heartbeat_at)});
  }
  return t;
}

Table metrics_table(const std::vector<QueueMetrics>& metrics) {
  Table t({"QUEUE", "PENDING", "DELAYED", "LEASED", "ARCHIVED", "DEAD", "OLDEST_PENDING"});
  for (const auto& m : metrics) {
    t.add_row({m.queue_name, str(m.pending), str(m.delayed), str(m.leased), str(m.archived),
               str(m.dead), opt_age(m.oldest_pending_age)});
  }
  return t;
}

Table health_table(const std::vector<WorkerHealth>& health) {
  Table t({"ID", "NAME", "KIND", "QUEUE_ID", "STATUS", "HEALTHY", "SINCE_HEARTBEAT"});
  for (const auto& h : health) {
    const auto& w = h.worker;
    t.add_row({std::to_string(w.id), w.name, std::string(to_string(w.kind)), or_dash(w.queue_id),
               std::string(to_string(w.status)), h.healthy ? "yes" : "NO",
               format_age(h.since_heartbeat)});
  }
  return t;
}

Table workflows_table(const std::vector<WorkflowRecord>& workflows) {
  Table t({"ID", "NAME", "QUEUE_ID", "CREATED_AT"});
  for (const auto& w : workflows) {
    t.add_row(
        {std::to_string(w.id), w.name, std::to_string(w.queue_id), format_time(w.created_at)});
  }
  return t;
}

Table runs_table(const std::vector<RunRecord>& runs) {
  Table t({"ID", "WORKFLOW", "STATUS", "MESSAGE_ID", "CREATED_AT", "UPDATED_AT", "INPUT"});
  for (const auto& r : runs) {
    t.add_row({std::to_string(r.id), r.workflow_name, std::string(to_string(r.status)),
               or_dash(r.message_id), format_time(r.created_at), format_time(r.updated_at),
               truncate(compact_json(r.input), kPayloadWidth)});
  }
  return t;
}

Table steps_table(const std::vector<StepRecord>& steps) {
  Table t({"ID", "STEP", "STATUS", "RETRIES", "RETRY_AT", "UPDATED_AT", "OUTPUT", "ERROR"});
  for (const auto& s : steps) {
    t.add_row({std::to_string(s.id), s.step_name, std::string(to_string(s.status)),
               std::to_string(s.retry_count), or_dash(s.retry_at), format_time(s.updated_at),
               opt_json(s.output, kStepValueWidth), opt_json(s.error, kStepValueWidth)});
  }
  return t;
}

namespace {
// "1h30m"-style text of a duration, whole seconds (sub-second rests as "+Nus").
std::string span_text(Duration d) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(d).count();
  if (us % 1'000'000 != 0) return std::to_string(us) + "us";
  std::int64_t s = us / 1'000'000;
  std::string out;
  for (const auto& [unit, size] : {std::pair{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}) {
    if (s >= size) {
      out += std::to_string(s / size) + unit;
      s %= size;
    }
  }
  return out.empty() ? "0s" : out;
}
std::string opt_text(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string opt_span(const std::optional<Duration>& d, const char* unset) {
  return d ? span_text(*d) : unset;
}
}  // namespace

Fields queue_fields(const QueueInfo& q) {
  const QueueOptions& o = q.options;
  return {{"id", std::to_string(q.id)},
          {"name", q.queue_name},
          {"created_at", format_time(q.created_at)},
          {"concurrency", opt_text(o.concurrency)},
          {"worker_concurrency", opt_text(o.worker_concurrency)},
          {"key_concurrency", opt_text(o.key_concurrency)},
          {"rate_limit", o.rate_limit ? std::to_string(o.rate_limit->count) + "/" +
                                            span_text(o.rate_limit->period)
                                      : "-"},
          {"retain_archived", opt_span(o.retain_archived, "forever")},
          {"retain_dead", opt_span(o.retain_dead, "forever")}};
}

Fields worker_fields(const WorkerInfo& w) {
  return {{"id", std::to_string(w.id)},
          {"name", w.name},
          {"kind", std::string(to_string(w.kind))},
          {"queue_id", or_dash(w.queue_id)},
          {"status", std::string(to_string(w.status))},
          {"hostname", w.hostname},
          {"pid", std::to_string(w.pid)},
          {"started_at", format_time(w.started_at)},
          {"heartbeat_at", format_time(w.heartbeat_at)},
          {"shutdown_at", or_dash(w.shutdown_at)}};
}

Fields metrics_fields(const QueueMetrics& m) {
  return {{"queue", m.queue_name},     {"queue_id", std::to_string(m.queue_id)},
          {"pending", str(m.pending)}, {"delayed", str(m.delayed)},
          {"leased", str(m.leased)},   {"archived", str(m.archived)},
          {"dead", str(m.dead)},       {"oldest_pending", opt_age(m.oldest_pending_age)}};
}

Fields system_stats_fields(const SystemStats& s) {
  return {{"backend", s.backend},
          {"schema_version", std::to_string(s.schema_version)},
          {"queues", str(s.queues)},
          {"workers", str(s.workers)},
          {"active_workers", str(s.active_workers)},
          {"pending", str(s.pending)},
          {"delayed", str(s.delayed)},
          {"leased", str(s.leased)},
          {"archived", str(s.archived)},
          {"dead", str(s.dead)}};
}

Fields run_fields(const RunRecord& r) {
  return {{"id", std::to_string(r.id)},
          {"workflow", r.workflow_name},
          {"workflow_id", std::to_string(r.workflow_id)},
          {"message_id", or_dash(r.message_id)},
          {"status", std::string(to_string(r.status))},
          {"input", compact_json(r.input)},
          {"output", opt_json(r.output)},
          {"error", opt_json(r.error)},
          {"created_at", format_time(r.created_at)},
          {"updated_at", format_time(r.updated_at)}};
}

Fields worker_stats_fields(const WorkerStats& s) {
  return {{"queue", s.queue_name},         {"total", str(s.total)},
          {"ready", str(s.ready)},         {"polling", str(s.polling)},
          {"suspended", str(s.suspended)}, {"interrupted", str(s.interrupted)},
          {"stopped", str(s.stopped)},     {"leased_messages", str(s.leased_messages)}};
}

}  // namespace pgqrs::cli
