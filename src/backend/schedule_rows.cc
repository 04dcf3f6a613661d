#include "backend/schedule_rows.h"

#include <chrono>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::backend {

const char* target_kind_text(ScheduleTarget t) {
  return t == ScheduleTarget::kQueue ? "queue" : "workflow";
}

ScheduleRecord read_schedule(const RowReader& row) {
  ScheduleRecord s;
  s.id = row.int64(0);
  s.name = row.text(1);
  if (!row.is_null(2)) s.cron = row.text(2);
  if (!row.is_null(3)) s.every = std::chrono::microseconds(row.int64(3));
  s.time_zone = row.text(4);
  const std::string kind = row.text(5);
  if (kind == "queue") {
    s.target_kind = ScheduleTarget::kQueue;
  } else if (kind == "workflow") {
    s.target_kind = ScheduleTarget::kWorkflow;
  } else {
    throw InternalError("schedule '" + s.name + "' has an unknown target kind '" + kind + "'");
  }
  s.target = row.text(6);
  const std::string payload = row.text(7);
  try {
    s.payload = json::parse(payload);
  } catch (const json::exception& e) {
    throw SerializationError("schedule '" + s.name + "': stored payload is not JSON: " + e.what());
  }
  try {
    s.catch_up = catch_up_from_string(row.text(8));
  } catch (const ValidationError&) {
    throw InternalError("schedule '" + s.name + "' has an unknown catch_up '" + row.text(8) + "'");
  }
  s.paused = row.int64(9) != 0;
  s.next_fire_at = row.time(10);
  s.last_fire_at = row.optional_time(11);
  s.created_at = row.time(12);
  s.updated_at = row.time(13);
  return s;
}

}  // namespace pgqrs::backend
