// QueueStore: the capability that creates, finds and removes queues.
// Shared contracts of every capability: see backend/backend.h.
//
// Flow control (issue 14): per-queue options (concurrency, worker and key concurrency, rate
// limit, retention) are stored on the queue row (QueueInfo::options); the caller (core)
// validates them, the backend stores them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"
#include "pgqrs/records.h"

namespace pgqrs::backend {

class QueueStore {
 public:
  virtual ~QueueStore() = default;
  // QueueAlreadyExistsError when it exists (nothing changes then). The default argument is
  // repeated, identical, on every override.
  virtual QueueInfo create_queue(std::string_view name, TimePoint now,
                                 const QueueOptions& options = {}) = 0;
  // Replaces the options of `name` with edit(current options), atomically: the queue row is
  // locked while `edit` runs (it may throw; nothing changes then). QueueNotFoundError.
  // Returns the queue as stored afterwards.
  using EditOptions = std::function<QueueOptions(const QueueOptions&)>;
  virtual QueueInfo update_queue_options(std::string_view name, const EditOptions& edit) = 0;
  virtual std::optional<QueueInfo> find_queue(std::string_view name) = 0;
  virtual std::vector<QueueInfo> list_queues() = 0;
  // ConflictError while the queue has any message row or a worker that is not stopped.
  virtual void delete_queue(std::string_view name) = 0;
  virtual std::uint64_t purge_queue(std::string_view name) = 0;
};

}  // namespace pgqrs::backend
