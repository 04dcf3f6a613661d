// The worker status machine (SPEC §4), enforced with compare-and-set on storage so it holds
// across processes.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "core/store_state.h"
#include "pgqrs/records.h"

namespace pgqrs::core {

// Moves worker `id` to `to` if its current status is one of `from`. Throws
// WorkerNotFoundError, or StateTransitionError naming the current and requested status.
void change_status(detail::StoreState& store, std::int64_t id,
                   std::initializer_list<WorkerStatus> from, WorkerStatus to);

// Named transitions.
inline void start_polling(detail::StoreState& s, std::int64_t id) {
  change_status(s, id, {WorkerStatus::kReady}, WorkerStatus::kPolling);
}
inline void interrupt(detail::StoreState& s, std::int64_t id) {
  change_status(s, id, {WorkerStatus::kPolling}, WorkerStatus::kInterrupted);
}
inline void suspend(detail::StoreState& s, std::int64_t id) {
  change_status(s, id, {WorkerStatus::kReady, WorkerStatus::kPolling, WorkerStatus::kInterrupted},
                WorkerStatus::kSuspended);
}
inline void resume(detail::StoreState& s, std::int64_t id) {
  change_status(s, id, {WorkerStatus::kSuspended}, WorkerStatus::kReady);
}
// suspended -> stopped; refused while the worker leases messages.
void shutdown(detail::StoreState& s, std::int64_t id);

// The worker, or WorkerNotFoundError.
WorkerInfo require_worker(detail::StoreState& s, std::int64_t id);

}  // namespace pgqrs::core
