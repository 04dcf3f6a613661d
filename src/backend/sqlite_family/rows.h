// The SQLite family's column accessor for the shared record layer (backend/record_rows.h):
// read_message(QueryRow(q)) maps the current row of `q`.
//
// Storage conventions: times are INTEGER microseconds since the Unix epoch (time_codec.h);
// JSON columns are TEXT.
#pragma once

#include <cstdint>
#include <string>

#include "backend/record_rows.h"
#include "backend/sqlite_family/session.h"

// Runs (alias r for the run, w for its workflow).
#define PGQRS_SQL_SELECT_RUNS \
  "SELECT " PGQRS_RUN_COLUMNS \
  " FROM pgqrs_workflow_runs r JOIN pgqrs_workflows w ON w.id = r.workflow_id"

namespace pgqrs::sqlite_family {

// The current row of a stepped Query.
class QueryRow final : public backend::RowReader {
 public:
  explicit QueryRow(Query& q) : q_(q) {}
  bool is_null(int col) const override { return q_.is_null(col); }
  std::int64_t int64(int col) const override { return q_.int64(col); }
  std::string text(int col) const override { return q_.text(col); }
  TimePoint time(int col) const override { return q_.time(col); }

 private:
  Query& q_;
};

}  // namespace pgqrs::sqlite_family
