#include "pgqrs/worker.h"

#include "core/identity.h"
#include "core/messages.h"
#include "core/store_state.h"
#include "core/validation.h"
#include "core/worker_lifecycle.h"
#include "pgqrs/error.h"

namespace pgqrs {
namespace {

std::shared_ptr<detail::WorkerState> register_worker(const Store& store, const std::string& name,
                                                     const std::string& queue, WorkerKind kind) {
  core::validate_name(name, "worker name");
  core::validate_name(queue, "queue name");
  auto& s = *StoreAccess::state(store);
  auto info =
      s.backend->register_worker(name, kind, queue, core::hostname(), core::process_id(), s.now());
  auto state = std::make_shared<detail::WorkerState>();
  state->store = StoreAccess::state(store);
  state->handle = store;
  state->id = info.id;
  state->name = info.name;
  state->queue = queue;
  state->queue_id = info.queue_id.value_or(0);
  state->kind = kind;
  state->waiter = s.clock->make_waiter();
  return state;
}

}  // namespace

std::int64_t Worker::id() const { return state_->id; }
const std::string& Worker::name() const { return state_->name; }
const std::string& Worker::queue() const { return state_->queue; }
std::int64_t Worker::queue_id() const { return state_->queue_id; }
WorkerKind Worker::kind() const { return state_->kind; }

const Store& Worker::store() const { return state_->handle; }

WorkerInfo Worker::info() const { return core::require_worker(*state_->store, state_->id); }
WorkerStatus Worker::status() const { return info().status; }

void Worker::heartbeat() const {
  if (!state_->store->backend->heartbeat(state_->id, state_->store->now())) {
    throw WorkerNotFoundError("worker " + std::to_string(state_->id) + " not found");
  }
}

void Worker::suspend() const { core::suspend(*state_->store, state_->id); }
void Worker::resume() const { core::resume(*state_->store, state_->id); }
void Worker::shutdown() const { core::shutdown(*state_->store, state_->id); }

// ---- Producer --------------------------------------------------------------------------------

std::int64_t Producer::enqueue(const json& payload) const {
  return core::enqueue_messages(*state_->store, state_->queue, {payload}, std::nullopt, state_->id)
      .front();
}

std::int64_t Producer::enqueue_delayed(const json& payload, std::chrono::seconds delay) const {
  return core::enqueue_messages(*state_->store, state_->queue, {payload},
                                std::chrono::duration_cast<std::chrono::milliseconds>(delay),
                                state_->id)
      .front();
}

std::vector<std::int64_t> Producer::batch_enqueue(const std::vector<json>& payloads) const {
  return core::enqueue_messages(*state_->store, state_->queue, payloads, std::nullopt, state_->id);
}

std::int64_t Producer::enqueue(const json& payload, const MessageOptions& options,
                               std::chrono::milliseconds delay) const {
  return core::enqueue_messages(*state_->store, state_->queue, {payload}, delay, state_->id,
                                std::nullopt, {options})
      .front();
}

// ---- Consumer --------------------------------------------------------------------------------

std::vector<QueueMessage> Consumer::dequeue(std::uint32_t limit) const {
  return dequeue_with_vt(limit,
                         std::chrono::seconds(state_->store->config.default_lock_time_seconds));
}

std::vector<QueueMessage> Consumer::dequeue_with_vt(std::uint32_t limit,
                                                    std::chrono::seconds lease) const {
  return core::lease_messages(*state_->store, state_->queue, limit, lease, state_->id);
}

std::vector<QueueMessage> Consumer::dequeue_at(std::uint32_t limit, std::chrono::seconds lease,
                                               TimePoint now) const {
  return core::lease_messages(*state_->store, state_->queue, limit, lease, state_->id, now);
}

bool Consumer::archive(std::int64_t id) const { return archive_many({id}).front(); }

std::vector<bool> Consumer::archive_many(const std::vector<std::int64_t>& ids) const {
  if (ids.empty()) return {};
  auto& s = *state_->store;
  return s.backend->archive(ids, state_->id, s.now());
}

bool Consumer::delete_message(std::int64_t id) const { return delete_many({id}).front(); }

std::vector<bool> Consumer::delete_many(const std::vector<std::int64_t>& ids) const {
  if (ids.empty()) return {};
  auto& s = *state_->store;
  return s.backend->remove(ids, state_->id, s.now());
}

bool Consumer::extend_vt(std::int64_t id, std::chrono::seconds seconds) const {
  if (seconds.count() < 0) {
    throw ValidationError("extend_vt: seconds must not be negative (got " +
                          std::to_string(seconds.count()) + ")");
  }
  auto& s = *state_->store;
  const auto now = s.now();
  return s.backend->set_lease({id}, state_->id, now + seconds, now).front();
}

std::uint64_t Consumer::release_messages(const std::vector<std::int64_t>& ids) const {
  if (ids.empty()) return 0;
  auto& s = *state_->store;
  const auto now = s.now();
  auto applied = s.backend->release(ids, state_->id, now, now,
                                    static_cast<std::int32_t>(s.config.max_read_ct));
  std::uint64_t n = 0;
  for (bool b : applied) n += b ? 1 : 0;
  return n;
}

bool Consumer::release_with_visibility(std::int64_t id, TimePoint visible_at) const {
  auto& s = *state_->store;
  const auto now = s.now();
  return s.backend
      ->release({id}, state_->id, visible_at, now, static_cast<std::int32_t>(s.config.max_read_ct))
      .front();
}

void Consumer::interrupt() const {
  core::interrupt(*state_->store, state_->id);
  state_->interrupt_requested.store(true);
  state_->waiter->notify();
}

// ---- builders --------------------------------------------------------------------------------

Producer ProducerBuilder::create(const Store& store) const {
  return Producer(register_worker(store, name_, queue_, WorkerKind::kProducer));
}

Consumer ConsumerBuilder::create(const Store& store) const {
  return Consumer(register_worker(store, name_, queue_, WorkerKind::kConsumer));
}

}  // namespace pgqrs
