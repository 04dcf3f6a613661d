// The schedule record's column list and row mapping, shared by every SQL backend (as
// record_rows.h for the other records). Stored forms: target_kind "queue" | "workflow",
// catch_up "none" | "last" | "all", payload JSON, every_us microseconds.
#pragma once

#include <string_view>

#include "backend/record_rows.h"
#include "pgqrs/schedule.h"

#define PGQRS_SCHEDULE_COLUMNS                                                            \
  "id, name, cron, every_us, time_zone, target_kind, target, payload, catch_up, paused, " \
  "next_fire_at, last_fire_at, created_at, updated_at"

namespace pgqrs::backend {

// SerializationError if the payload does not parse, InternalError for an unknown kind text.
ScheduleRecord read_schedule(const RowReader& row);
const char* target_kind_text(ScheduleTarget t);

}  // namespace pgqrs::backend
