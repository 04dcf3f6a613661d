// Small lookups shared by the SqlFamilyBackend operations. Each runs on the caller's
// Session, inside the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "backend/sqlite_family/session.h"
#include "pgqrs/records.h"

namespace pgqrs::sqlite_family {

std::optional<std::int64_t> find_queue_id(Session& s, std::string_view queue);
// QueueNotFoundError naming the queue when it does not exist.
std::int64_t require_queue_id(Session& s, std::string_view queue);
// Status of worker `id`, nullopt when there is no such worker.
std::optional<WorkerStatus> find_worker_status(Session& s, std::int64_t id);
// WorkerNotFoundError naming the id when there is no such worker.
WorkerStatus require_worker_status(Session& s, std::int64_t id);
// Whether a table of that name exists in the database.
bool table_exists(Session& s, std::string_view table);

}  // namespace pgqrs::sqlite_family
