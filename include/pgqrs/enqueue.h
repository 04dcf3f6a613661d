// pgqrs::enqueue(): the enqueue builder (SPEC §3).
//
//   auto ids = pgqrs::enqueue().message({{"task", "email"}}).to("jobs").execute(store);
//
// Every payload is validated (ValidationConfig) before anything is written; a batch is
// written in one transaction, all or nothing. Without .worker(...), messages carry no
// producer id and no worker row is created.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgqrs/records.h"
#include "pgqrs/store.h"
#include "pgqrs/tracing.h"
#include "pgqrs/worker.h"

namespace pgqrs {

namespace postgres {
class Transaction;
}

class EnqueueBuilder {
 public:
  EnqueueBuilder& message(json payload);
  // One message with its own flow fields (they override the builder-wide ones below).
  EnqueueBuilder& message(json payload, MessageOptions options);
  EnqueueBuilder& messages(std::vector<json> payloads);
  // Flow fields for every message without its own (pgqrs/queue_options.h). A dedup key on a
  // batch of several messages is a ValidationError (the key would repeat); nothing is stored.
  EnqueueBuilder& priority(std::int32_t priority);
  EnqueueBuilder& dedup_key(std::string key);
  EnqueueBuilder& concurrency_key(std::string key);
  EnqueueBuilder& to(std::string queue);
  // Visible after `delay` (negative: ValidationError at execute). Any std::chrono duration
  // of whole milliseconds or coarser: delay(500ms), delay(30s), delay(1h).
  EnqueueBuilder& delay(std::chrono::milliseconds delay);
  // Visible at `when` (a time in the past means now).
  EnqueueBuilder& at(TimePoint when);
  EnqueueBuilder& worker(const Producer& producer);
  // The W3C trace context stored with the messages (pgqrs/tracing.h); without it, the
  // installed trace hook's current_context(), if any. Malformed: ValidationError at execute,
  // naming "traceparent" or "tracestate".
  EnqueueBuilder& trace_context(TraceContext ctx);

  // Ids of the new messages, in input order.
  std::vector<std::int64_t> execute(const Store& store) const;
  // Postgres only: enqueues inside `tx` (pgqrs/postgres.h), so the messages exist iff the
  // transaction commits. A producer given with .worker() must belong to the same store.
  std::vector<std::int64_t> execute(postgres::Transaction& tx) const;

 private:
  // Flow fields per message: own_[i] when message i was given its own, else defaults_.
  std::vector<MessageOptions> flow() const;

  std::vector<json> payloads_;
  std::vector<std::optional<MessageOptions>> own_;
  MessageOptions defaults_;
  std::string queue_;
  std::optional<std::chrono::milliseconds> delay_;
  std::optional<TimePoint> at_;
  std::optional<Producer> producer_;
  std::optional<TraceContext> trace_;
};

inline EnqueueBuilder enqueue() { return EnqueueBuilder(); }

}  // namespace pgqrs
