// Small lookups and inserts shared by the SqlFamilyBackend operations. Each runs on the
// caller's Session, inside the caller's transaction (writes: a BEGIN IMMEDIATE one).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "backend/capabilities/messages.h"
#include "backend/sqlite_family/session.h"
#include "pgqrs/clock.h"
#include "pgqrs/records.h"

namespace pgqrs::sqlite_family {

std::optional<std::int64_t> find_queue_id(Session& s, std::string_view queue);
// QueueNotFoundError naming the queue when it does not exist.
std::int64_t require_queue_id(Session& s, std::string_view queue);
// Status of worker `id`, nullopt when there is no such worker.
std::optional<WorkerStatus> find_worker_status(Session& s, std::int64_t id);
// WorkerNotFoundError naming the id when there is no such worker.
WorkerStatus require_worker_status(Session& s, std::int64_t id);
// Inserts queue `queue` (the caller checked that it does not exist); returns its id.
std::int64_t insert_queue(Session& s, std::string_view queue, TimePoint now);
// Inserts one message (read_ct 0, not leased) on queue `queue_id`; returns its id.
// `payload` is serialised JSON.
std::int64_t insert_message(Session& s, std::int64_t queue_id, std::string_view payload,
                            TimePoint visible_at, TimePoint now,
                            std::optional<std::int64_t> producer_worker_id,
                            const backend::MessageTrace& trace = {});
// Writes every option column of queue `queue_id` (flow control; unset = NULL).
void write_queue_options(Session& s, std::int64_t queue_id, const QueueOptions& options);
// Whether a table of that name exists in the database.
bool table_exists(Session& s, std::string_view table);

}  // namespace pgqrs::sqlite_family
