// RAII for libpq handles, and the binary wire formats the Postgres backend speaks.
//
// Every statement the backend sends uses binary parameters and asks for binary results, so
// nothing depends on session settings (DateStyle, TimeZone, extra_float_digits, ...) and
// no value is ever formatted into SQL text. This file is the only place that knows those
// formats: int2/int4/int8/bool big-endian, text/jsonb as bytes (jsonb with a version byte),
// timestamptz as int8 microseconds since 2000-01-01 UTC, one-dimensional arrays.
//
// Nothing here is thread-safe on its own: a connection and its results belong to one thread
// at a time (the pool hands each connection to one operation).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"

namespace pgqrs::pg {

// Type OIDs (pg_type.oid; fixed since forever).
inline constexpr Oid kBoolOid = 16;
inline constexpr Oid kInt8Oid = 20;
inline constexpr Oid kInt4Oid = 23;
inline constexpr Oid kTextOid = 25;
inline constexpr Oid kTimestamptzOid = 1184;
inline constexpr Oid kJsonbOid = 3802;
inline constexpr Oid kInt8ArrayOid = 1016;
inline constexpr Oid kTextArrayOid = 1009;
inline constexpr Oid kJsonbArrayOid = 3807;

struct ConnDeleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Time <-> timestamptz (microsecond precision; finer parts of a TimePoint are floored, the
// same way for every value written and compared).
std::int64_t to_pg_micros(TimePoint t);
TimePoint from_pg_micros(std::int64_t micros);
// The value a TimePoint has after a round trip through a timestamptz column.
TimePoint stored(TimePoint t);

// Parameters of one statement, in order ($1, $2, ...). Values are encoded in binary with
// an explicit type OID, so the SQL needs no casts and the server never guesses a type.
class Params {
 public:
  Params& int8(std::int64_t v);
  Params& int4(std::int32_t v);
  Params& boolean(bool v);
  Params& text(std::string_view v);
  Params& jsonb(std::string_view serialised_json);
  Params& time(TimePoint t);
  Params& optional_int8(std::optional<std::int64_t> v);
  Params& optional_text(const std::optional<std::string>& v);
  // SQL NULL of the given type.
  Params& null(Oid type);
  Params& int8_array(const std::vector<std::int64_t>& v);
  Params& text_array(const std::vector<std::string>& v);
  Params& text_array(const std::vector<std::string_view>& v);
  Params& jsonb_array(const std::vector<std::string>& serialised_json);

  int size() const { return static_cast<int>(types_.size()); }
  const Oid* types() const { return types_.data(); }
  // Pointers into this object: valid until it is changed or destroyed.
  std::vector<const char*> values() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  Params& add(Oid type, std::string bytes);
  std::vector<Oid> types_;
  std::vector<std::string> data_;
  std::vector<bool> is_null_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A statement result with binary columns. Accessors check the column's type OID and throw
// InternalError on a mismatch (a bug in the backend's SQL, never a user error).
class Result {
 public:
  Result() = default;
  explicit Result(ResultPtr r) : r_(std::move(r)) {}

  PGresult* get() const { return r_.get(); }
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  int columns() const { return r_ ? PQnfields(r_.get()) : 0; }
  // Rows inserted/updated/deleted by the statement (PQcmdTuples), 0 if not applicable.
  std::uint64_t affected() const;

  bool is_null(int row, int col) const;
  std::int64_t int8(int row, int col) const;  // int8 / int4 / int2 columns
  std::int32_t int4(int row, int col) const;
  bool boolean(int row, int col) const;
  std::string text(int row, int col) const;  // text / varchar / name / jsonb (as JSON text)
  TimePoint time(int row, int col) const;    // timestamptz
  std::optional<std::int64_t> optional_int8(int row, int col) const;
  std::optional<TimePoint> optional_time(int row, int col) const;
  std::vector<std::int64_t> int8_array(int row, int col) const;

 private:
  std::string_view raw(int row, int col, Oid expected_a, Oid expected_b = 0) const;
  ResultPtr r_;
};

}  // namespace pgqrs::pg
