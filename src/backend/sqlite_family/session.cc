#include "backend/sqlite_family/session.h"

#include <utility>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {

Query::~Query() {
  // reset() must not throw (drivers ignore the repeated error code); be defensive anyway,
  // a destructor that throws during unwinding would terminate the process.
  try {
    stmt_->reset();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing useful to do here
  }
  if (in_use_ != nullptr) *in_use_ = false;
}

Query& Query::bind(double value) {
  stmt_->bind_double(next_index_++, value);
  return *this;
}

Query& Query::bind(std::string_view value) {
  stmt_->bind_text(next_index_++, value);
  return *this;
}

Query& Query::bind(TimePoint value) {
  stmt_->bind_int64(next_index_++, to_micros(value));
  return *this;
}

Query& Query::bind(std::nullopt_t) {
  stmt_->bind_null(next_index_++);
  return *this;
}

std::int64_t Query::execute() {
  while (stmt_->step()) {
  }
  return conn_.changes();
}

std::int64_t Query::insert_returning_id() {
  if (!stmt_->step()) throw InternalError("INSERT ... RETURNING id returned no row");
  const std::int64_t id = stmt_->column_int64(0);
  while (stmt_->step()) {
  }
  return id;
}

std::optional<std::int64_t> Query::optional_int64(int col) {
  if (stmt_->column_is_null(col)) return std::nullopt;
  return stmt_->column_int64(col);
}

std::optional<TimePoint> Query::optional_time(int col) {
  if (stmt_->column_is_null(col)) return std::nullopt;
  return from_micros(stmt_->column_int64(col));
}

Query Session::query(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(std::string(sql), Entry{conn_->prepare(sql), false}).first;
  }
  Entry& entry = it->second;
  if (entry.in_use) return Query(*conn_, conn_->prepare(sql));
  entry.in_use = true;
  return Query(*conn_, *entry.stmt, &entry.in_use);
}

}  // namespace pgqrs::sqlite_family
