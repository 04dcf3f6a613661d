// QueueStore: the capability that creates, finds and removes queues.
// Shared contracts of every capability: see backend/backend.h.
//
// Room for flow control (issue 14): per-queue options (concurrency, worker and key
// concurrency, rate limit, retention) are stored on the queue row; their reads and updates
// belong here, next to create_queue.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"
#include "pgqrs/records.h"

namespace pgqrs::backend {

class QueueStore {
 public:
  virtual ~QueueStore() = default;
  virtual QueueInfo create_queue(std::string_view name, TimePoint now) = 0;
  virtual std::optional<QueueInfo> find_queue(std::string_view name) = 0;
  virtual std::vector<QueueInfo> list_queues() = 0;
  // ConflictError while the queue has any message row or a worker that is not stopped.
  virtual void delete_queue(std::string_view name) = 0;
  virtual std::uint64_t purge_queue(std::string_view name) = 0;
};

}  // namespace pgqrs::backend
