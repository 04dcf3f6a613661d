// WorkerRegistry: the capability that records producers, consumers and admins, their
// heartbeats and status, and recovers the leases of workers that died.
// Shared contracts of every capability: see backend/backend.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"
#include "pgqrs/records.h"

namespace pgqrs::backend {

// Result of a worker status compare-and-set.
struct StatusChange {
  bool applied = false;
  std::optional<WorkerStatus> current;  // status after the call; nullopt = no such worker
};

class WorkerRegistry {
 public:
  virtual ~WorkerRegistry() = default;

  // queue may be empty for workers not bound to a queue (admin). Status ready.
  virtual WorkerInfo register_worker(std::string_view name, WorkerKind kind,
                                     std::optional<std::string_view> queue,
                                     std::string_view hostname, std::int64_t pid,
                                     TimePoint now) = 0;
  virtual std::optional<WorkerInfo> get_worker(std::int64_t id) = 0;
  virtual std::vector<WorkerInfo> list_workers(std::optional<std::string_view> queue) = 0;
  // Sets status = to iff status is one of `from`; shutdown_at = now when to == stopped.
  virtual StatusChange change_worker_status(std::int64_t id, const std::vector<WorkerStatus>& from,
                                            WorkerStatus to, TimePoint now) = 0;
  // False if no such worker.
  virtual bool heartbeat(std::int64_t id, TimePoint now) = 0;
  // Messages whose lease the worker holds now (vt > now, not archived/dead).
  virtual std::vector<QueueMessage> leased_messages(std::int64_t worker, TimePoint now) = 0;
  // Releases them all (vt = now, consumer NULL). Returns how many.
  virtual std::uint64_t release_worker_messages(std::int64_t worker, TimePoint now) = 0;
  // ConflictError unless stopped and unreferenced by any message; WorkerNotFoundError.
  virtual void delete_worker(std::int64_t id) = 0;
  // Workers of `queue` not stopped whose heartbeat_at < heartbeat_before: release their
  // messages (vt = now) and mark them stopped. Returns messages released.
  virtual std::uint64_t reclaim_zombies(std::string_view queue, TimePoint heartbeat_before,
                                        TimePoint now) = 0;
  // Deletes stopped workers with heartbeat_at < heartbeat_before and no message referring to
  // them. Returns how many.
  virtual std::uint64_t purge_workers(TimePoint heartbeat_before) = 0;
};

}  // namespace pgqrs::backend
