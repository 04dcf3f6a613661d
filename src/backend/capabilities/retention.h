// RetentionStore: the capability that prunes old rows in bounded batches, and the database
// lease that makes one pruner run at a time (issue 14). Shared contracts: backend/backend.h.
//
// Every delete is one short transaction of at most `limit` rows, so consumers interleave with
// a long prune instead of waiting for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgqrs/clock.h"

namespace pgqrs::backend {

// What a prune pass removes, in one queue (a workflow's runs: the workflow's queue).
enum class PruneKind { kArchived, kDead, kFinishedRuns };

class RetentionStore {
 public:
  virtual ~RetentionStore() = default;
  // kArchived: messages archived before `before`; kDead: messages dead-lettered (dead_at set)
  // before `before`; kFinishedRuns: SUCCESS/ERROR/CANCELLED runs whose workflow has a
  // retain_finished and that finished (updated_at) longer than it before `now` (`before` is
  // ignored). delete_old deletes up to `limit` of them (oldest first) and returns how many;
  // count_old counts them all and changes nothing. QueueNotFoundError for an unknown queue.
  virtual std::uint64_t delete_old(PruneKind kind, std::string_view queue, TimePoint before,
                                   TimePoint now, std::uint32_t limit) = 0;
  virtual std::uint64_t count_old(PruneKind kind, std::string_view queue, TimePoint before,
                                  TimePoint now) = 0;

  // Workflow retention of finished runs (nullopt: keep forever). False for an unknown workflow.
  virtual bool set_workflow_retention(std::string_view workflow,
                                      std::optional<std::int64_t> retain_finished_us) = 0;
  virtual std::optional<std::int64_t> workflow_retention(std::string_view workflow) = 0;

  // The maintenance lease `name` (e.g. "prune"): taken by `holder` when free, expired
  // (lease_until <= now) or already its own; then lease_until = until. False when another
  // holder has it. release clears it if `holder` has it.
  virtual bool acquire_lease(std::string_view name, std::string_view holder, TimePoint now,
                             TimePoint until) = 0;
  virtual void release_lease(std::string_view name, std::string_view holder) = 0;
};

}  // namespace pgqrs::backend
