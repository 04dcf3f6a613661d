#include "serve/metrics_text.h"

#include <cstdio>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <utility>

namespace pgqrs::cli::serve {
namespace {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(std::string_view name, Labels labels, std::string_view value) {
    out_ << name;
    if (labels.size() != 0) {
      out_ << '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        out_ << (first ? "" : ",") << k << "=\"" << escape_label_value(v) << '"';
        first = false;
      }
      out_ << '}';
    }
    out_ << ' ' << value << '\n';
  }
  void sample(std::string_view name, Labels labels, std::uint64_t value) {
    sample(name, labels, std::to_string(value));
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

void queue_family(Writer& w, const std::vector<QueueMetrics>& queues, std::string_view name,
                  std::string_view help,
                  const std::function<std::uint64_t(const QueueMetrics&)>& get) {
  w.family(name, "gauge", help);
  for (const auto& q : queues) w.sample(name, {{"queue", q.queue_name}}, get(q));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string render_metrics(const MetricsInput& in) {
  Writer w;
  w.family("pgqrs_up", "gauge", "1 when the last scrape read the store.");
  w.sample("pgqrs_up", {}, "1");
  queue_family(w, in.queues, "pgqrs_queue_pending_messages",
               "Messages visible now and deliverable (queue depth).",
               [](const QueueMetrics& q) { return q.pending; });
  queue_family(w, in.queues, "pgqrs_queue_leased_messages",
               "Messages held by a consumer whose lease has not expired.",
               [](const QueueMetrics& q) { return q.leased; });
  queue_family(w, in.queues, "pgqrs_queue_delayed_messages",
               "Messages not yet visible and held by no consumer (delay or retry backoff).",
               [](const QueueMetrics& q) { return q.delayed; });
  queue_family(w, in.queues, "pgqrs_queue_dead_letters", "Dead-lettered messages.",
               [](const QueueMetrics& q) { return q.dead; });
  queue_family(w, in.queues, "pgqrs_queue_archived_messages",
               "Processed messages still stored (falls when a queue is purged).",
               [](const QueueMetrics& q) { return q.archived; });

  w.family("pgqrs_queue_oldest_pending_age_seconds", "gauge",
           "Age of the oldest pending message (0 when none is pending).");
  for (const auto& q : in.queues) {
    w.sample("pgqrs_queue_oldest_pending_age_seconds", {{"queue", q.queue_name}},
             seconds(q.oldest_pending_age.value_or(std::chrono::milliseconds(0))));
  }

  w.family("pgqrs_workers", "gauge", "Workers by queue and state (queue=\"\": bound to none).");
  for (const auto& c : in.activity.workers) {
    w.sample("pgqrs_workers",
             {{"queue", c.queue_name.value_or("")}, {"state", pgqrs::to_string(c.status)}},
             c.count);
  }
  w.family("pgqrs_worker_oldest_heartbeat_age_seconds", "gauge",
           "Seconds since the oldest heartbeat among the live workers of a queue and state.");
  for (const auto& c : in.activity.workers) {
    if (c.status == WorkerStatus::kStopped) continue;
    w.sample("pgqrs_worker_oldest_heartbeat_age_seconds",
             {{"queue", c.queue_name.value_or("")}, {"state", pgqrs::to_string(c.status)}},
             seconds(c.oldest_heartbeat_age));
  }

  w.family("pgqrs_workflow_runs", "gauge", "Workflow runs by definition and status.");
  for (const auto& c : in.activity.runs) {
    w.sample("pgqrs_workflow_runs",
             {{"workflow", c.workflow_name}, {"status", pgqrs::to_string(c.status)}}, c.count);
  }
  w.family("pgqrs_workflow_step_retries", "gauge",
           "Step retries recorded over the stored runs of a workflow definition.");
  for (const auto& c : in.activity.step_retries) {
    w.sample("pgqrs_workflow_step_retries", {{"workflow", c.workflow_name}}, c.retries);
  }

  w.family("pgqrs_schedule_lag_seconds", "gauge",
           "Seconds since the schedule's next tick was due and not yet fired (0 when none is "
           "due, and while paused).");
  for (const auto& s : in.schedules) {
    const auto lag = std::chrono::duration_cast<std::chrono::milliseconds>(schedule_lag(s, in.now));
    w.sample("pgqrs_schedule_lag_seconds", {{"schedule", s.name}}, seconds(lag));
  }
  w.family("pgqrs_schedule_paused", "gauge", "1 while the schedule is paused, else 0.");
  for (const auto& s : in.schedules) {
    w.sample("pgqrs_schedule_paused", {{"schedule", s.name}}, s.paused ? "1" : "0");
  }

  w.family("pgqrs_scrape_duration_seconds", "gauge", "Time spent reading these numbers.");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(in.scrape_duration.count()) / 1e6);
  w.sample("pgqrs_scrape_duration_seconds", {}, buf);
  return w.str();
}

}  // namespace pgqrs::cli::serve
