// Background duties every poll loop of a store shares (internal): firing due schedules and
// automatic pruning, each at most once per interval of the store's clock, whichever loop of
// the process gets there first (one atomic compare-and-set decides).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <memory>

#include "pgqrs/store.h"

namespace pgqrs::core {

// When the next schedule check / auto prune is due (microseconds on the store's clock).
struct MaintenanceTimer {
  std::atomic<std::int64_t> next_schedule_check_us{0};
  std::atomic<std::int64_t> next_prune_us{0};
};

// Fires due schedules (at most once per second of the store's clock) and prunes (at most once
// per kAutoPruneInterval). Never throws: a failure is retried at the next interval.
void run_maintenance(const std::shared_ptr<Store::State>& state) noexcept;

// Fires every due schedule once now; returns the ticks fired by this call.
std::size_t fire_due(const Store& store);

}  // namespace pgqrs::core
