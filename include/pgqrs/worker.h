// Workers: named producers and consumers with a row in pgqrs_workers (SPEC §4).
//
// Status machine: ready <-> polling (poll / poll ends), polling -> interrupted (interrupt),
// ready|polling|interrupted -> suspended, suspended -> ready (resume),
// suspended -> stopped (shutdown; a consumer must hold no leases). An illegal move throws
// StateTransitionError naming both states.
//
// Producer and Consumer are handles: copies share the same worker (and its in-process
// interrupt signal). Their methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/records.h"
#include "pgqrs/store.h"

namespace pgqrs {

struct WorkerAccess;  // the engine's access to a worker handle's state (src/core); not for users
class ProducerBuilder;
class ConsumerBuilder;

class Worker {
 public:
  std::int64_t id() const;
  const std::string& name() const;
  const std::string& queue() const;
  std::int64_t queue_id() const;
  WorkerKind kind() const;
  const Store& store() const;

  WorkerInfo info() const;  // fresh row from storage
  WorkerStatus status() const;
  void heartbeat() const;
  void suspend() const;
  void resume() const;
  void shutdown() const;

  // Opaque: the engine's state shared by the copies of a worker handle.
  class State;

 protected:
  friend struct WorkerAccess;
  explicit Worker(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class Producer : public Worker {
 public:
  // Returns the new message id.
  std::int64_t enqueue(const json& payload) const;
  std::int64_t enqueue_delayed(const json& payload, std::chrono::seconds delay) const;
  // One statement / transaction for the whole batch; ids in input order.
  std::vector<std::int64_t> batch_enqueue(const std::vector<json>& payloads) const;
  // With flow fields (priority, dedup key, concurrency key; pgqrs/queue_options.h). A
  // deduplicated message returns the live message's id. `delay` zero: visible now.
  std::int64_t enqueue(const json& payload, const MessageOptions& options,
                       std::chrono::milliseconds delay = std::chrono::milliseconds(0)) const;

 private:
  friend class ProducerBuilder;
  explicit Producer(std::shared_ptr<State> state) : Worker(std::move(state)) {}
};

class Consumer : public Worker {
 public:
  // Leases up to `limit` messages for the default lock time (config).
  std::vector<QueueMessage> dequeue(std::uint32_t limit = 1) const;
  std::vector<QueueMessage> dequeue_with_vt(std::uint32_t limit, std::chrono::seconds lease) const;
  // The same as if the time were `now` (visibility and lease expiry computed from it), for
  // callers that drive time themselves.
  std::vector<QueueMessage> dequeue_at(std::uint32_t limit, std::chrono::seconds lease,
                                       TimePoint now) const;

  // Owner-only operations: they apply only to messages this consumer leases now, and
  // report whether they applied instead of throwing for "not yours".
  bool archive(std::int64_t id) const;
  std::vector<bool> archive_many(const std::vector<std::int64_t>& ids) const;
  bool delete_message(std::int64_t id) const;
  std::vector<bool> delete_many(const std::vector<std::int64_t>& ids) const;
  // Sets the lease to expire `seconds` from now.
  bool extend_vt(std::int64_t id, std::chrono::seconds seconds) const;
  // Makes the messages visible again now. Returns how many were released.
  std::uint64_t release_messages(const std::vector<std::int64_t>& ids) const;
  bool release_with_visibility(std::int64_t id, TimePoint visible_at) const;

  // polling -> interrupted: a running poll() returns promptly and leaves the worker
  // suspended. StateTransitionError if the worker is not polling.
  void interrupt() const;

 private:
  friend class ConsumerBuilder;
  explicit Consumer(std::shared_ptr<State> state) : Worker(std::move(state)) {}
};

// Builders: pgqrs::producer("name", "queue").create(store).
class ProducerBuilder {
 public:
  ProducerBuilder(std::string name, std::string queue)
      : name_(std::move(name)), queue_(std::move(queue)) {}
  Producer create(const Store& store) const;

 private:
  std::string name_, queue_;
};

class ConsumerBuilder {
 public:
  ConsumerBuilder(std::string name, std::string queue)
      : name_(std::move(name)), queue_(std::move(queue)) {}
  Consumer create(const Store& store) const;

 private:
  std::string name_, queue_;
};

inline ProducerBuilder producer(std::string name, std::string queue) {
  return ProducerBuilder(std::move(name), std::move(queue));
}
inline ConsumerBuilder consumer(std::string name, std::string queue) {
  return ConsumerBuilder(std::move(name), std::move(queue));
}

}  // namespace pgqrs
