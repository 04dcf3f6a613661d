#include "pgqrs/enqueue.h"

#include "core/messages.h"
#include "core/store_state.h"
#include "pgqrs/error.h"

namespace pgqrs {

EnqueueBuilder& EnqueueBuilder::message(json payload) {
  payloads_.push_back(std::move(payload));
  return *this;
}

EnqueueBuilder& EnqueueBuilder::messages(std::vector<json> payloads) {
  for (auto& p : payloads) payloads_.push_back(std::move(p));
  return *this;
}

EnqueueBuilder& EnqueueBuilder::to(std::string queue) {
  queue_ = std::move(queue);
  return *this;
}

EnqueueBuilder& EnqueueBuilder::delay(std::chrono::seconds d) {
  delay_ = std::chrono::duration_cast<std::chrono::milliseconds>(d);
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

std::vector<std::int64_t> EnqueueBuilder::execute(const Store& store) const {
  std::string queue = queue_;
  std::optional<std::int64_t> producer_id;
  if (producer_) {
    producer_id = producer_->id();
    if (queue.empty()) queue = producer_->queue();
    if (queue != producer_->queue()) {
      throw ValidationError("producer " + std::to_string(producer_->id()) + " belongs to queue '" +
                            producer_->queue() + "', not '" + queue + "'");
    }
  }
  if (queue.empty()) {
    throw ValidationError("enqueue: no queue given (call .to(\"queue\") or .worker(producer))");
  }
  return core::enqueue_messages(*store.state(), queue, payloads_, delay_, producer_id, at_);
}

}  // namespace pgqrs
