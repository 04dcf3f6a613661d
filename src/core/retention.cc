// Retention: prune() and workflow retention (pgqrs/retention.h).
#include "pgqrs/retention.h"

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "core/store_state.h"
#include "core/validation.h"
#include "pgqrs/error.h"

namespace pgqrs {
namespace {

constexpr std::string_view kPruneLeaseName = "prune";

void check_duration(const std::optional<Duration>& d, std::string_view field) {
  if (d && *d < Duration::zero()) {
    throw ValidationError(std::string(field) + ": must not be negative");
  }
}

// Holder name of one prune() call: unique per process, store and call.
std::string holder_name(const Store::State& state) {
  static std::atomic<std::uint64_t> calls{0};
  return "pid:" + std::to_string(::getpid()) + ":" +
         std::to_string(reinterpret_cast<std::uintptr_t>(&state)) + ":" +
         std::to_string(calls.fetch_add(1));
}

// The throttle's pause: `throttle` x the batch's duration on the store's clock (none when
// that clock did not move: a manual clock in tests). Waits on the clock, never sleeps.
void pause_after_batch(const Store::State& state, Duration batch, double throttle,
                       std::unique_ptr<Clock::Waiter>& waiter) {
  if (throttle <= 0 || batch <= Duration::zero()) return;
  const auto pause = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, Duration::period>(batch.count() * throttle));
  if (!waiter) waiter = state.clock->make_waiter();
  const TimePoint until = state.now() + pause;
  // A wait may end early (a manual clock's waiter returns at once after a move): re-check.
  while (state.now() < until) waiter->wait_until(until, [] { return false; });
}

struct Pass {
  backend::PruneKind kind;
  const char* label;
  TimePoint before;
  std::uint64_t* total;
};

}  // namespace

PruneResult prune(const Store& store, const PruneOptions& o) {
  check_duration(o.archived_older_than, "archived_older_than");
  check_duration(o.dead_older_than, "dead_older_than");
  if (o.batch_size < 1 || o.batch_size > 100000) {
    throw ValidationError("batch_size: must be 1..100000, got " + std::to_string(o.batch_size));
  }
  if (!(o.throttle >= 0 && o.throttle <= 100)) {  // also NaN
    throw ValidationError("throttle: must be 0..100, got " + std::to_string(o.throttle));
  }
  const auto& state = StoreAccess::state(store);
  backend::Backend& b = *state->backend;
  std::vector<QueueInfo> queues;
  if (o.queue) {
    core::validate_name(*o.queue, "queue name");
    auto q = b.find_queue(*o.queue);
    if (!q) throw QueueNotFoundError("queue '" + *o.queue + "' does not exist");
    queues.push_back(*q);
  } else {
    queues = b.list_queues();
  }

  PruneResult result;
  result.dry_run = o.dry_run;
  std::unique_ptr<Clock::Waiter> waiter;  // for the throttle's pauses
  const std::string holder = holder_name(*state);
  TimePoint now = state->now();
  if (!o.dry_run && !b.acquire_lease(kPruneLeaseName, holder, now, now + kPruneLease)) {
    result.skipped = true;
    return result;
  }
  try {
    for (const QueueInfo& info : queues) {
      const std::string& queue = info.queue_name;
      // An explicit age wins; otherwise the queue's own retention (QueueOptions). The
      // cut-offs are computed here, not through an optional copy, which GCC 12 at -O2
      // misreports as maybe-uninitialized.
      std::vector<Pass> passes;
      if (o.archived_older_than) {
        passes.push_back({backend::PruneKind::kArchived, "archived", now - *o.archived_older_than,
                          &result.archived});
      } else if (o.use_queue_retention && info.options.retain_archived) {
        passes.push_back({backend::PruneKind::kArchived, "archived",
                          now - *info.options.retain_archived, &result.archived});
      }
      if (o.dead_older_than) {
        passes.push_back(
            {backend::PruneKind::kDead, "dead", now - *o.dead_older_than, &result.dead});
      } else if (o.use_queue_retention && info.options.retain_dead) {
        passes.push_back(
            {backend::PruneKind::kDead, "dead", now - *info.options.retain_dead, &result.dead});
      }
      if (o.finished_runs) {
        passes.push_back({backend::PruneKind::kFinishedRuns, "runs", now, &result.runs});
      }
      for (const Pass& pass : passes) {
        PruneProgress progress{queue, pass.label, 0};
        if (o.dry_run) {
          progress.deleted = b.count_old(pass.kind, queue, pass.before, now);
          *pass.total += progress.deleted;
          if (o.on_progress) o.on_progress(progress);
          continue;
        }
        while (true) {
          const TimePoint batch_start = state->now();
          const std::uint64_t n = b.delete_old(pass.kind, queue, pass.before, now, o.batch_size);
          if (n == 0) break;
          ++result.batches;
          progress.deleted += n;
          *pass.total += n;
          if (o.on_progress) o.on_progress(progress);
          // Keep the lease while a long prune runs (on the store's clock).
          now = state->now();
          if (!b.acquire_lease(kPruneLeaseName, holder, now, now + kPruneLease)) {
            throw ConflictError("prune: the prune lease was taken over by another process");
          }
          if (n < o.batch_size) break;
          pause_after_batch(*state, now - batch_start, o.throttle, waiter);
        }
      }
    }
  } catch (...) {
    if (!o.dry_run) {
      try {
        b.release_lease(kPruneLeaseName, holder);
      } catch (...) {
      }
    }
    throw;
  }
  if (!o.dry_run) b.release_lease(kPruneLeaseName, holder);
  return result;
}

void set_workflow_retention(const Store& store, std::string_view workflow,
                            std::optional<Duration> retain_finished) {
  core::validate_name(workflow, "workflow name");
  check_duration(retain_finished, "retain_finished");
  std::optional<std::int64_t> us;
  if (retain_finished) {
    us = std::chrono::duration_cast<std::chrono::microseconds>(*retain_finished).count();
  }
  if (!StoreAccess::state(store)->backend->set_workflow_retention(workflow, us)) {
    throw ValidationError("workflow '" + std::string(workflow) + "' is not registered");
  }
}

std::optional<Duration> workflow_retention(const Store& store, std::string_view workflow) {
  core::validate_name(workflow, "workflow name");
  auto us = StoreAccess::state(store)->backend->workflow_retention(workflow);
  if (!us) return std::nullopt;
  return std::chrono::microseconds(*us);
}

}  // namespace pgqrs
