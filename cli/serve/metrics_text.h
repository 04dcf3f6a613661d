// The Prometheus text exposition format (version 0.0.4) of pgqrs' metrics, for `pgqrs serve`
// /metrics. A pure function of the numbers read from the store: no I/O here.
//
// The metric names, their labels and meaning are listed in docs/observability.md; renaming
// one is a breaking change for users' dashboards and alerts.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/pgqrs.h"

namespace pgqrs::cli::serve {

struct MetricsInput {
  std::vector<QueueMetrics> queues;
  ActivityMetrics activity;
  std::vector<ScheduleRecord> schedules;
  TimePoint now;  // the store's clock when the schedules were read (their lag)
  std::chrono::microseconds scrape_duration{0};  // how long reading the numbers took
};

// Every family has its # HELP and # TYPE lines, also when it has no sample.
std::string render_metrics(const MetricsInput& in);

// A label value escaped as the format requires (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);

}  // namespace pgqrs::cli::serve
