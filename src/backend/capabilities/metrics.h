// MetricsStore: the capability that answers aggregate, read-only questions about queues and
// workers (admin, CLI, dashboards). Shared contracts of every capability: see
// backend/backend.h.
//
// Room for observability (issue 16): the bounded queries a metrics endpoint or a dashboard
// needs (per-queue ages, run counts by status, schedule lag) go here; each must stay cheap
// enough to be scraped every few seconds.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "pgqrs/activity.h"
#include "pgqrs/clock.h"
#include "pgqrs/records.h"

namespace pgqrs::backend {

class MetricsStore {
 public:
  virtual ~MetricsStore() = default;
  virtual QueueMetrics queue_metrics(std::string_view queue, TimePoint now,
                                     std::int32_t max_read_ct) = 0;
  virtual std::vector<QueueMetrics> all_queue_metrics(TimePoint now, std::int32_t max_read_ct) = 0;
  virtual SystemStats system_stats(TimePoint now, std::int32_t max_read_ct) = 0;
  virtual WorkerStats worker_stats(std::string_view queue, TimePoint now) = 0;
  // Workers by (queue, state), runs by (workflow, status), step retries by workflow
  // (pgqrs/activity.h): three GROUP BYs, no per-message or per-run rows returned.
  virtual ActivityMetrics activity_metrics(TimePoint now) = 0;
};

}  // namespace pgqrs::backend
