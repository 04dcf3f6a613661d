// The Postgres backend's column accessor for the shared record layer (backend/record_rows.h):
// read_message(PgRow(r, row, first)) maps row `row` of `r`, whose columns from `first` on are
// the record's column list. Columns arrive in binary (pq.h).
#pragma once

#include <cstdint>
#include <string>

#include "backend/postgres/pq.h"
#include "backend/record_rows.h"

// Runs select from the schema's tables (alias r for the run, w for its workflow).
#define PGQRS_PG_SELECT_RUNS                                    \
  "SELECT " PGQRS_RUN_COLUMNS                                   \
  " FROM {s}.pgqrs_workflow_runs r JOIN {s}.pgqrs_workflows w " \
  "ON w.id = r.workflow_id"

namespace pgqrs::pg {

using backend::kMessageColumnCount;

// Row `row` of `r`, columns counted from `first`.
class PgRow final : public backend::RowReader {
 public:
  PgRow(const Result& r, int row, int first = 0) : r_(r), row_(row), first_(first) {}
  bool is_null(int col) const override { return r_.is_null(row_, first_ + col); }
  std::int64_t int64(int col) const override { return r_.int8(row_, first_ + col); }
  std::string text(int col) const override { return r_.text(row_, first_ + col); }
  TimePoint time(int col) const override { return r_.time(row_, first_ + col); }

 private:
  const Result& r_;
  int row_;
  int first_;
};

}  // namespace pgqrs::pg
