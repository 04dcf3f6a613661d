// Retention: deleting old archived messages, dead letters and finished workflow runs in
// bounded batches (docs/flow-control.md, "Retention").
//
// One pruner at a time per store database: prune() first takes the "prune" maintenance lease
// (a row in the database, expiring after kPruneLease of the store's clock) and returns
// `skipped = true` without deleting anything when another process holds it. Each batch is
// its own short transaction of at most batch_size rows, so consumers keep draining while a
// prune runs. Poll loops and Scheduler handles run prune() on their own at most once per
// kAutoPruneInterval of the store's clock, with the stored settings: each queue's
// retain_archived / retain_dead (QueueOptions) and each workflow's retain_finished.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "pgqrs/clock.h"
#include "pgqrs/store.h"

namespace pgqrs {

inline constexpr std::chrono::seconds kPruneLease{300};
inline constexpr std::chrono::seconds kAutoPruneInterval{60};

struct PruneProgress {
  std::string queue;
  std::string kind;           // "archived" | "dead" | "runs"
  std::uint64_t deleted = 0;  // so far, in this queue and kind (dry run: would delete)
};

struct PruneOptions {
  // Archived messages whose archived_at is older than this, in every queue pruned (unset:
  // each queue's QueueOptions::retain_archived, when use_queue_retention; else kept).
  std::optional<Duration> archived_older_than;
  // Dead letters whose dead_at is older than this (unset: each queue's retain_dead, when
  // use_queue_retention; else kept).
  std::optional<Duration> dead_older_than;
  bool use_queue_retention = true;
  // Finished runs of workflows with a retain_finished older than it.
  bool finished_runs = true;
  std::optional<std::string> queue;  // one queue only (default: every queue)
  std::uint32_t batch_size = 1000;   // rows per transaction, 1..100000
  bool dry_run = false;              // count only; nothing changes
  // After each batch, wait `throttle` times as long as the batch took (on the store's
  // clock) before the next one, so a prune keeps at most 1 / (1 + throttle) of the
  // database's attention and consumers keep draining at full speed (0: no pause, 0..100).
  double throttle = 2.0;
  // Called after each batch (and once per queue and kind in a dry run).
  std::function<void(const PruneProgress&)> on_progress;
};

struct PruneResult {
  std::uint64_t archived = 0;
  std::uint64_t dead = 0;
  std::uint64_t runs = 0;
  std::uint64_t batches = 0;
  bool dry_run = false;
  bool skipped = false;  // another pruner holds the lease; nothing was done
};

// ValidationError naming the field for a negative duration or a batch size out of range;
// QueueNotFoundError for an unknown `queue`.
PruneResult prune(const Store& store, const PruneOptions& options);

// How long finished (SUCCESS / ERROR / CANCELLED) runs of `workflow` are kept (nullopt:
// forever, the default). ValidationError for an unknown workflow or a negative duration.
void set_workflow_retention(const Store& store, std::string_view workflow,
                            std::optional<Duration> retain_finished);
std::optional<Duration> workflow_retention(const Store& store, std::string_view workflow);

}  // namespace pgqrs
