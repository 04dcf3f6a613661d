#include "core/messages.h"

#include "core/validation.h"
#include "pgqrs/error.h"

namespace pgqrs::core {
namespace {

// Validation, times and the rate limit shared by both enqueue paths.
backend::EnqueueParams prepare_enqueue(detail::StoreState& store, const std::string& queue,
                                       const std::vector<json>& payloads,
                                       std::optional<std::chrono::milliseconds> delay,
                                       std::optional<std::int64_t> producer,
                                       std::optional<TimePoint> at) {
  validate_name(queue, "queue name");
  if (delay && delay->count() < 0) {
    throw ValidationError("delay must not be negative (got " + std::to_string(delay->count()) +
                          " ms)");
  }
  backend::EnqueueParams p;
  p.queue = queue;
  p.payloads = validate_payloads(payloads, store.config.validation);
  p.now = store.now();
  p.visible_at = p.now;
  if (at) {
    p.visible_at = std::max(*at, p.now);
  } else if (delay) {
    p.visible_at = p.now + *delay;
  }
  p.producer_worker_id = producer;
  store.limiter.acquire(p.payloads.size(), p.now);
  return p;
}

}  // namespace

std::vector<std::int64_t> enqueue_messages(detail::StoreState& store, const std::string& queue,
                                           const std::vector<json>& payloads,
                                           std::optional<std::chrono::milliseconds> delay,
                                           std::optional<std::int64_t> producer,
                                           std::optional<TimePoint> at) {
  const backend::EnqueueParams p = prepare_enqueue(store, queue, payloads, delay, producer, at);
  auto ids = store.backend->enqueue(p);
  if (p.visible_at <= p.now) store.activity.notify(queue);
  return ids;
}

std::vector<std::int64_t> enqueue_messages_in(
    detail::StoreState& store, backend::UserTransaction& tx, const std::string& queue,
    const std::vector<json>& payloads, std::optional<std::chrono::milliseconds> delay,
    std::optional<std::int64_t> producer, std::optional<TimePoint> at, bool& visible_now) {
  const backend::EnqueueParams p = prepare_enqueue(store, queue, payloads, delay, producer, at);
  auto ids = tx.enqueue(p);
  visible_now = p.visible_at <= p.now;
  return ids;
}

namespace {

backend::DequeueParams dequeue_params(detail::StoreState& store, const std::string& queue,
                                      std::uint32_t limit, std::chrono::seconds lease,
                                      std::int64_t consumer) {
  validate_name(queue, "queue name");
  validate_batch_size(limit, store.config.default_max_batch_size);
  if (lease.count() <= 0) {
    throw ValidationError("lease (visibility timeout) must be positive (got " +
                          std::to_string(lease.count()) + " s)");
  }
  backend::DequeueParams p;
  p.queue = queue;
  p.limit = limit;
  p.lease = lease;
  p.consumer_worker_id = consumer;
  p.now = store.now();
  p.max_read_ct = static_cast<std::int32_t>(store.config.max_read_ct);
  return p;
}

}  // namespace

std::vector<QueueMessage> lease_messages(detail::StoreState& store, const std::string& queue,
                                         std::uint32_t limit, std::chrono::seconds lease,
                                         std::int64_t consumer) {
  return store.backend->dequeue(dequeue_params(store, queue, limit, lease, consumer));
}

backend::Backend::ArchiveAndLease archive_and_lease(detail::StoreState& store,
                                                    const std::string& queue,
                                                    const std::vector<std::int64_t>& done,
                                                    std::uint32_t limit, std::chrono::seconds lease,
                                                    std::int64_t consumer) {
  return store.backend->archive_and_dequeue(done,
                                            dequeue_params(store, queue, limit, lease, consumer));
}

}  // namespace pgqrs::core
