#include "backend/coordination_rows.h"

#include <string>

#include "pgqrs/error.h"

namespace pgqrs::backend {

RunMessage read_run_message(const RowReader& row) {
  RunMessage m;
  m.id = row.int64(0);
  m.run_id = row.int64(1);
  m.topic = row.text(2);
  m.payload = optional_json(
                  row, 3, "message " + std::to_string(m.id) + " to run " + std::to_string(m.run_id))
                  .value_or(json(nullptr));
  m.created_at = row.time(4);
  m.received_at = row.optional_time(5);
  if (!row.is_null(6)) m.received_by = row.text(6);
  return m;
}

RunEvent read_run_event(const RowReader& row) {
  RunEvent e;
  e.id = row.int64(0);
  e.run_id = row.int64(1);
  const std::string kind = row.text(2);
  const auto parsed = parse_run_event_kind(kind);
  if (!parsed) {
    throw InternalError("run event " + std::to_string(e.id) + " has an unknown kind '" + kind +
                        "'");
  }
  e.kind = *parsed;
  e.key = row.text(3);
  e.value =
      optional_json(row, 4, "event " + std::to_string(e.id) + " of run " + std::to_string(e.run_id))
          .value_or(json(nullptr));
  e.created_at = row.time(5);
  return e;
}

}  // namespace pgqrs::backend
