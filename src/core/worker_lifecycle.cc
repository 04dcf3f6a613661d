#include "core/worker_lifecycle.h"

#include <string>
#include <vector>

#include "pgqrs/error.h"

namespace pgqrs::core {

void change_status(detail::StoreState& store, std::int64_t id,
                   std::initializer_list<WorkerStatus> from, WorkerStatus to) {
  std::vector<WorkerStatus> allowed(from);
  auto change = store.backend->change_worker_status(id, allowed, to, store.now());
  if (change.applied) return;
  if (!change.current) throw WorkerNotFoundError("worker " + std::to_string(id) + " not found");
  throw StateTransitionError("worker " + std::to_string(id) + " cannot move from '" +
                             std::string(to_string(*change.current)) + "' to '" +
                             std::string(to_string(to)) + "'");
}

void shutdown(detail::StoreState& s, std::int64_t id) {
  auto held = s.backend->leased_messages(id, s.now());
  if (!held.empty()) {
    auto info = require_worker(s, id);
    throw StateTransitionError("worker " + std::to_string(id) + " cannot move from '" +
                               std::string(to_string(info.status)) +
                               "' to 'stopped' while it leases " + std::to_string(held.size()) +
                               " message(s); release them first");
  }
  change_status(s, id, {WorkerStatus::kSuspended}, WorkerStatus::kStopped);
}

WorkerInfo require_worker(detail::StoreState& s, std::int64_t id) {
  auto info = s.backend->get_worker(id);
  if (!info) throw WorkerNotFoundError("worker " + std::to_string(id) + " not found");
  return *info;
}

}  // namespace pgqrs::core
