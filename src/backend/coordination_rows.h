// The record layer of workflow coordination (capabilities/coordination.h), shared by every SQL
// backend as record_rows.h is: column lists and their row readers, side by side.
#pragma once

#include "backend/record_rows.h"
#include "pgqrs/coordination.h"

// pgqrs_run_messages and pgqrs_run_events, in these orders.
#define PGQRS_RUN_MESSAGE_COLUMNS \
  "id, run_id, topic, payload, created_at, received_at, received_step"
#define PGQRS_RUN_EVENT_COLUMNS "id, run_id, kind, event_key, value, created_at"

namespace pgqrs::backend {

// SerializationError if the stored payload / value is not valid JSON, InternalError for an
// unknown stored kind.
RunMessage read_run_message(const RowReader& row);
RunEvent read_run_event(const RowReader& row);

}  // namespace pgqrs::backend
