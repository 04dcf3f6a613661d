// Records and enums returned by the API. Plain values; copying them is cheap enough and they
// never refer back to a store.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pgqrs/clock.h"
#include "pgqrs/queue_options.h"

namespace pgqrs {

using json = nlohmann::json;

struct QueueInfo {
  std::int64_t id = 0;
  std::string queue_name;
  TimePoint created_at;
  QueueOptions options;  // flow control and retention (pgqrs/queue_options.h)
};

// One message row. `vt` is the time it becomes (or became) visible; while a consumer holds
// the lease, vt is the lease expiry. read_ct counts deliveries.
struct QueueMessage {
  std::int64_t id = 0;
  std::int64_t queue_id = 0;
  json payload;
  TimePoint vt;
  TimePoint enqueued_at;
  std::int32_t read_ct = 0;
  std::optional<TimePoint> dequeued_at;
  std::optional<std::int64_t> producer_worker_id;
  std::optional<std::int64_t> consumer_worker_id;
  std::optional<TimePoint> archived_at;
  std::optional<TimePoint> dead_at;  // set when the message was dead-lettered
  std::int32_t priority = 0;         // flow fields (MessageOptions)
  std::optional<std::string> dedup_key;
  std::optional<std::string> concurrency_key;
  // The W3C trace context stored with the message at enqueue (pgqrs/tracing.h), if any:
  // a consumer continues the producer's trace from it.
  std::optional<std::string> traceparent;
  std::optional<std::string> tracestate;
};

enum class WorkerStatus { kReady, kPolling, kSuspended, kInterrupted, kStopped };
enum class WorkerKind { kProducer, kConsumer, kAdmin };

// "ready", "polling", ... and back; parse returns nullopt for unknown text.
std::string_view to_string(WorkerStatus s) noexcept;
std::string_view to_string(WorkerKind k) noexcept;
std::optional<WorkerStatus> parse_worker_status(std::string_view text) noexcept;
std::optional<WorkerKind> parse_worker_kind(std::string_view text) noexcept;

struct WorkerInfo {
  std::int64_t id = 0;
  std::string name;
  WorkerKind kind = WorkerKind::kConsumer;
  std::optional<std::int64_t> queue_id;
  std::string hostname;
  std::int64_t pid = 0;
  WorkerStatus status = WorkerStatus::kReady;
  TimePoint started_at;
  TimePoint heartbeat_at;
  std::optional<TimePoint> shutdown_at;
};

// Counts of one queue's messages by state, at the time of the call.
//   pending  : visible now and deliverable (read_ct < max_read_ct)
//   delayed  : not yet visible and held by no consumer (enqueued with a delay, or released
//              with a later visibility / retry backoff)
//   leased   : held by a consumer whose lease has not expired (vt > now)
//   archived : processed
//   dead     : dead-lettered (delivered max_read_ct times and came back)
struct QueueMetrics {
  std::int64_t queue_id = 0;
  std::string queue_name;
  std::uint64_t pending = 0;
  std::uint64_t delayed = 0;
  std::uint64_t leased = 0;
  std::uint64_t archived = 0;
  std::uint64_t dead = 0;
  std::optional<std::chrono::milliseconds> oldest_pending_age;
};

struct SystemStats {
  std::uint64_t queues = 0;
  std::uint64_t workers = 0;
  std::uint64_t active_workers = 0;  // not stopped
  std::uint64_t pending = 0;
  std::uint64_t delayed = 0;
  std::uint64_t leased = 0;
  std::uint64_t archived = 0;
  std::uint64_t dead = 0;
  std::int32_t schema_version = 0;
  std::string backend;
};

// Workers of one queue by status, plus how many messages they currently lease.
struct WorkerStats {
  std::string queue_name;
  std::uint64_t total = 0;
  std::uint64_t ready = 0;
  std::uint64_t polling = 0;
  std::uint64_t suspended = 0;
  std::uint64_t interrupted = 0;
  std::uint64_t stopped = 0;
  std::uint64_t leased_messages = 0;
};

// A live (not stopped) worker and whether its heartbeat is recent enough.
struct WorkerHealth {
  WorkerInfo worker;
  bool healthy = false;
  std::chrono::milliseconds since_heartbeat{0};
};

}  // namespace pgqrs
