#include "core/messages.h"

#include <map>

#include "core/validation.h"
#include "pgqrs/error.h"

namespace pgqrs::core {
namespace {

// The per-message flow fields of a batch of `n` (backend::EnqueueParams::flow): empty when
// every message has the defaults (the plain path), else one per message, validated.
std::vector<MessageOptions> message_flow(const std::vector<MessageOptions>& given, std::size_t n) {
  if (given.size() > 1 && given.size() != n) {
    throw ValidationError("enqueue: " + std::to_string(given.size()) + " message options for " +
                          std::to_string(n) + " payloads");
  }
  const MessageOptions plain;
  bool any = false;
  for (const MessageOptions& o : given) any = any || !(o == plain);
  if (!any) return {};
  std::vector<MessageOptions> out =
      given.size() == 1 ? std::vector<MessageOptions>(n, given[0]) : given;
  std::map<std::string, std::size_t> first_with_key;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::string where = "message " + std::to_string(i + 1) + " of " + std::to_string(n);
    validate(out[i], where);
    if (!out[i].dedup_key) continue;
    auto [it, fresh] = first_with_key.emplace(*out[i].dedup_key, i);
    if (!fresh) {
      throw ValidationError("dedup_key '" + *out[i].dedup_key + "' is given to messages " +
                            std::to_string(it->second + 1) + " and " + std::to_string(i + 1) +
                            " of " + std::to_string(n) +
                            " of one batch (a dedup key must be unique within a batch)");
    }
  }
  return out;
}

// Validation, times and the rate limit shared by both enqueue paths.
backend::EnqueueParams prepare_enqueue(detail::StoreState& store, const std::string& queue,
                                       const std::vector<json>& payloads,
                                       std::optional<std::chrono::milliseconds> delay,
                                       std::optional<std::int64_t> producer,
                                       std::optional<TimePoint> at,
                                       const std::vector<MessageOptions>& flow,
                                       const std::optional<TraceContext>& trace) {
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
  p.flow = message_flow(flow, p.payloads.size());
  p.max_read_ct = static_cast<std::int32_t>(store.config.max_read_ct);
  if (auto ctx = store.tracer.context_for_enqueue(trace)) {
    p.trace.traceparent = std::move(ctx->traceparent);
    p.trace.tracestate = std::move(ctx->tracestate);
  }
  store.limiter.acquire(p.payloads.size(), p.now);
  return p;
}

// One enqueue event per new message.
void emit_enqueued(const detail::StoreState& store, const backend::EnqueueParams& p,
                   const std::vector<std::int64_t>& ids) {
  if (!store.tracer.active()) return;
  std::optional<TraceContext> ctx;
  if (p.trace.traceparent) ctx = TraceContext{*p.trace.traceparent, p.trace.tracestate};
  TraceEvent e;
  e.kind = TraceEventKind::kEnqueue;
  e.at = p.now;
  e.queue = p.queue;
  e.worker_id = p.producer_worker_id;
  e.trace = ctx ? &*ctx : nullptr;
  for (std::int64_t id : ids) {
    e.message_id = id;
    store.tracer.emit(e);
  }
}

}  // namespace

void emit_leased(const detail::StoreState& store, const std::string& queue,
                 const std::vector<QueueMessage>& msgs, std::int64_t consumer, TimePoint now) {
  if (!store.tracer.active()) return;
  for (const auto& m : msgs) {
    const auto ctx = trace_of(m);
    TraceEvent e;
    e.kind = TraceEventKind::kLease;
    e.at = now;
    e.queue = queue;
    e.message_id = m.id;
    e.worker_id = consumer;
    e.attempt = m.read_ct;
    e.trace = ctx ? &*ctx : nullptr;
    store.tracer.emit(e);
  }
}

std::vector<std::int64_t> enqueue_messages(detail::StoreState& store, const std::string& queue,
                                           const std::vector<json>& payloads,
                                           std::optional<std::chrono::milliseconds> delay,
                                           std::optional<std::int64_t> producer,
                                           std::optional<TimePoint> at,
                                           const std::vector<MessageOptions>& flow,
                                           const std::optional<TraceContext>& trace) {
  const backend::EnqueueParams p =
      prepare_enqueue(store, queue, payloads, delay, producer, at, flow, trace);
  auto ids = store.backend->enqueue(p);
  emit_enqueued(store, p, ids);
  if (p.visible_at <= p.now) store.activity.notify(queue);
  return ids;
}

std::vector<std::int64_t> enqueue_messages_in(
    detail::StoreState& store, backend::UserTransaction& tx, const std::string& queue,
    const std::vector<json>& payloads, std::optional<std::chrono::milliseconds> delay,
    std::optional<std::int64_t> producer, std::optional<TimePoint> at, bool& visible_now,
    const std::vector<MessageOptions>& flow, const std::optional<TraceContext>& trace) {
  const backend::EnqueueParams p =
      prepare_enqueue(store, queue, payloads, delay, producer, at, flow, trace);
  auto ids = tx.enqueue(p);
  emit_enqueued(store, p, ids);
  visible_now = p.visible_at <= p.now;
  return ids;
}

namespace {

backend::DequeueParams dequeue_params(detail::StoreState& store, const std::string& queue,
                                      std::uint32_t limit, std::chrono::seconds lease,
                                      std::int64_t consumer,
                                      std::optional<TimePoint> now = std::nullopt) {
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
  p.now = now ? *now : store.now();
  p.max_read_ct = static_cast<std::int32_t>(store.config.max_read_ct);
  return p;
}

}  // namespace

std::vector<QueueMessage> lease_messages(detail::StoreState& store, const std::string& queue,
                                         std::uint32_t limit, std::chrono::seconds lease,
                                         std::int64_t consumer, std::optional<TimePoint> now) {
  const auto p = dequeue_params(store, queue, limit, lease, consumer, now);
  auto msgs = store.backend->dequeue(p);
  emit_leased(store, queue, msgs, consumer, p.now);
  return msgs;
}

backend::Backend::ArchiveAndLease archive_and_lease(detail::StoreState& store,
                                                    const std::string& queue,
                                                    const std::vector<std::int64_t>& done,
                                                    std::uint32_t limit, std::chrono::seconds lease,
                                                    std::int64_t consumer) {
  const auto p = dequeue_params(store, queue, limit, lease, consumer);
  auto both = store.backend->archive_and_dequeue(done, p);
  emit_leased(store, queue, both.leased, consumer, p.now);
  return both;
}

}  // namespace pgqrs::core
