#include "pgqrs/enqueue.h"

#include "core/messages.h"
#include "core/store_state.h"
#include "core/transaction_access.h"
#include "pgqrs/error.h"
#include "pgqrs/postgres.h"

namespace pgqrs {

EnqueueBuilder& EnqueueBuilder::message(json payload) {
  payloads_.push_back(std::move(payload));
  own_.emplace_back();
  return *this;
}

EnqueueBuilder& EnqueueBuilder::message(json payload, MessageOptions options) {
  payloads_.push_back(std::move(payload));
  own_.emplace_back(std::move(options));
  return *this;
}

EnqueueBuilder& EnqueueBuilder::messages(std::vector<json> payloads) {
  for (auto& p : payloads) {
    payloads_.push_back(std::move(p));
    own_.emplace_back();
  }
  return *this;
}

EnqueueBuilder& EnqueueBuilder::priority(std::int32_t priority) {
  defaults_.priority = priority;
  return *this;
}

EnqueueBuilder& EnqueueBuilder::dedup_key(std::string key) {
  defaults_.dedup_key = std::move(key);
  return *this;
}

EnqueueBuilder& EnqueueBuilder::concurrency_key(std::string key) {
  defaults_.concurrency_key = std::move(key);
  return *this;
}

std::vector<MessageOptions> EnqueueBuilder::flow() const {
  std::vector<MessageOptions> out;
  out.reserve(own_.size());
  for (const auto& own : own_) out.push_back(own ? *own : defaults_);
  return out;
}

EnqueueBuilder& EnqueueBuilder::to(std::string queue) {
  queue_ = std::move(queue);
  return *this;
}

EnqueueBuilder& EnqueueBuilder::delay(std::chrono::milliseconds d) {
  delay_ = d;
  return *this;
}

EnqueueBuilder& EnqueueBuilder::at(TimePoint when) {
  at_ = when;
  return *this;
}

EnqueueBuilder& EnqueueBuilder::worker(const Producer& producer) {
  producer_ = producer;
  return *this;
}

EnqueueBuilder& EnqueueBuilder::trace_context(TraceContext ctx) {
  trace_ = std::move(ctx);
  return *this;
}

namespace {

// The queue to enqueue to, checked against the producer given with .worker(). Empty queue
// and producer: ValidationError.
std::string resolve_queue(const std::string& queue_in, const std::optional<Producer>& producer,
                          std::optional<std::int64_t>& producer_id) {
  std::string queue = queue_in;
  if (producer) {
    producer_id = producer->id();
    if (queue.empty()) queue = producer->queue();
    if (queue != producer->queue()) {
      throw ValidationError("producer " + std::to_string(producer->id()) + " belongs to queue '" +
                            producer->queue() + "', not '" + queue + "'");
    }
  }
  if (queue.empty()) {
    throw ValidationError("enqueue: no queue given (call .to(\"queue\") or .worker(producer))");
  }
  return queue;
}

}  // namespace

std::vector<std::int64_t> EnqueueBuilder::execute(postgres::Transaction& tx) const {
  std::optional<std::int64_t> producer_id;
  const std::string queue = resolve_queue(queue_, producer_, producer_id);
  const Store& tx_store = postgres::TransactionAccess::store(tx);
  if (producer_ && WorkerAccess::state(*producer_)->store != StoreAccess::state(tx_store)) {
    throw ValidationError("producer " + std::to_string(producer_->id()) +
                          " belongs to a different store than the transaction");
  }
  if (!tx.active()) {
    throw StateTransitionError(
        "enqueue: the transaction is finished (committed, rolled back or "
        "failed)");
  }
  bool visible_now = false;
  auto ids = core::enqueue_messages_in(
      *StoreAccess::state(tx_store), postgres::TransactionAccess::user_transaction(tx), queue,
      payloads_, delay_, producer_id, at_, visible_now, flow(), trace_);
  if (visible_now) postgres::TransactionAccess::wake_after_commit(tx, queue);
  return ids;
}

std::vector<std::int64_t> EnqueueBuilder::execute(const Store& store) const {
  std::optional<std::int64_t> producer_id;
  const std::string queue = resolve_queue(queue_, producer_, producer_id);
  return core::enqueue_messages(*StoreAccess::state(store), queue, payloads_, delay_, producer_id,
                                at_, flow(), trace_);
}

}  // namespace pgqrs
