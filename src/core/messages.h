// Enqueue and lease operations shared by the builders and the worker handles: validation,
// rate limiting and time computation happen here, storage in the backend.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store_state.h"
#include "pgqrs/records.h"
#include "pgqrs/tracing.h"

namespace pgqrs::core {

// Validates every payload (nothing is written if one is bad), applies the rate limit and
// enqueues them in one transaction. `delay` negative -> ValidationError. `at` (if set)
// overrides delay. `flow`: empty, one entry (applies to every payload) or one per payload;
// validated (ValidationError naming the field and message; a dedup key twice in the batch
// is one). The trace context stored with them is `trace`, else the trace hook's current
// one (Tracer::context_for_enqueue); an enqueue event per message goes to the hook once
// they are written. Returns ids in input order (a deduplicated message: the live message's
// id).
std::vector<std::int64_t> enqueue_messages(detail::StoreState& store, const std::string& queue,
                                           const std::vector<json>& payloads,
                                           std::optional<std::chrono::milliseconds> delay,
                                           std::optional<std::int64_t> producer,
                                           std::optional<TimePoint> at = std::nullopt,
                                           const std::vector<MessageOptions>& flow = {},
                                           const std::optional<TraceContext>& trace = std::nullopt);

// The same, inside a user transaction (pgqrs/postgres.h): nothing becomes visible before it
// commits, so the in-process wake-up is left to the caller (Transaction::commit); returns
// whether the messages are visible at once (i.e. a wake-up is due after commit).
std::vector<std::int64_t> enqueue_messages_in(
    detail::StoreState& store, backend::UserTransaction& tx, const std::string& queue,
    const std::vector<json>& payloads, std::optional<std::chrono::milliseconds> delay,
    std::optional<std::int64_t> producer, std::optional<TimePoint> at, bool& visible_now,
    const std::vector<MessageOptions>& flow = {},
    const std::optional<TraceContext>& trace = std::nullopt);

// Leases up to `limit` messages for `lease` as `consumer`, at `now` (default: the store's
// clock). A lease event per message goes to the trace hook.
std::vector<QueueMessage> lease_messages(detail::StoreState& store, const std::string& queue,
                                         std::uint32_t limit, std::chrono::seconds lease,
                                         std::int64_t consumer,
                                         std::optional<TimePoint> now = std::nullopt);

// Archives `done` (owner-only, as `consumer`) and leases up to `limit` more, in one
// backend call (Backend::archive_and_dequeue: one transaction where the backend supports it).
backend::Backend::ArchiveAndLease archive_and_lease(detail::StoreState& store,
                                                    const std::string& queue,
                                                    const std::vector<std::int64_t>& done,
                                                    std::uint32_t limit, std::chrono::seconds lease,
                                                    std::int64_t consumer);

// A lease event per message of `msgs` (leased by `consumer` at `now`) to the trace hook.
void emit_leased(const detail::StoreState& store, const std::string& queue,
                 const std::vector<QueueMessage>& msgs, std::int64_t consumer, TimePoint now);

}  // namespace pgqrs::core
