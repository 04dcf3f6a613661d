#include "backend/postgres/pq.h"

#include <chrono>
#include <cstring>

#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

// 2000-01-01 00:00:00 UTC (the Postgres epoch) in microseconds since the Unix epoch.
constexpr std::int64_t kPgEpochMicros = 946'684'800'000'000LL;

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

std::uint64_t get_be(std::string_view in, std::size_t offset, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[offset + static_cast<std::size_t>(i)]);
  }
  return v;
}

[[noreturn]] void bad_column(int col, const std::string& why) {
  throw InternalError("postgres: unexpected value in result column " + std::to_string(col) + ": " +
                      why);
}

// One-dimensional array in the binary format: ndim, has-nulls flag, element type, then
// (size, lower bound) and each element as (length, bytes).
template <class Items, class Encode>
std::string encode_array(Oid element_type, const Items& items, Encode encode) {
  std::string out;
  const bool empty = items.empty();
  put_be(out, empty ? 0 : 1, 4);
  put_be(out, 0, 4);
  put_be(out, element_type, 4);
  if (empty) return out;
  put_be(out, items.size(), 4);
  put_be(out, 1, 4);
  std::string element;
  for (const auto& item : items) {
    element.clear();
    encode(element, item);
    put_be(out, element.size(), 4);
    out += element;
  }
  return out;
}

}  // namespace

std::int64_t to_pg_micros(TimePoint t) {
  return std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch()).count() -
         kPgEpochMicros;
}

TimePoint from_pg_micros(std::int64_t micros) {
  return TimePoint(
      std::chrono::duration_cast<Duration>(std::chrono::microseconds(micros + kPgEpochMicros)));
}

TimePoint stored(TimePoint t) { return from_pg_micros(to_pg_micros(t)); }

// ---- Params -------------------------------------------------------------------------------

Params& Params::add(Oid type, std::string bytes) {
  types_.push_back(type);
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  data_.push_back(std::move(bytes));
  is_null_.push_back(false);
  return *this;
}

Params& Params::int8(std::int64_t v) {
  std::string b;
  put_be(b, static_cast<std::uint64_t>(v), 8);
  return add(kInt8Oid, std::move(b));
}

Params& Params::int4(std::int32_t v) {
  std::string b;
  put_be(b, static_cast<std::uint32_t>(v), 4);
  return add(kInt4Oid, std::move(b));
}

Params& Params::boolean(bool v) { return add(kBoolOid, std::string(1, v ? '\1' : '\0')); }

Params& Params::text(std::string_view v) { return add(kTextOid, std::string(v)); }

Params& Params::jsonb(std::string_view serialised_json) {
  std::string b;
  b.reserve(serialised_json.size() + 1);
  b.push_back('\1');  // jsonb binary format version
  b.append(serialised_json);
  return add(kJsonbOid, std::move(b));
}

Params& Params::time(TimePoint t) {
  std::string b;
  put_be(b, static_cast<std::uint64_t>(to_pg_micros(t)), 8);
  return add(kTimestamptzOid, std::move(b));
}

Params& Params::optional_int8(std::optional<std::int64_t> v) {
  return v ? int8(*v) : null(kInt8Oid);
}

Params& Params::optional_text(const std::optional<std::string>& v) {
  return v ? text(*v) : null(kTextOid);
}

Params& Params::null(Oid type) {
  add(type, std::string());
  is_null_.back() = true;
  lengths_.back() = 0;
  return *this;
}

Params& Params::int8_array(const std::vector<std::int64_t>& v) {
  return add(kInt8ArrayOid, encode_array(kInt8Oid, v, [](std::string& out, std::int64_t x) {
               put_be(out, static_cast<std::uint64_t>(x), 8);
             }));
}

Params& Params::text_array(const std::vector<std::string>& v) {
  return add(kTextArrayOid, encode_array(kTextOid, v, [](std::string& out, const std::string& s) {
               out.append(s);
             }));
}

Params& Params::text_array(const std::vector<std::string_view>& v) {
  return add(kTextArrayOid, encode_array(kTextOid, v, [](std::string& out, std::string_view s) {
               out.append(s);
             }));
}

Params& Params::jsonb_array(const std::vector<std::string>& serialised_json) {
  return add(kJsonbArrayOid,
             encode_array(kJsonbOid, serialised_json, [](std::string& out, const std::string& s) {
               out.push_back('\1');
               out.append(s);
             }));
}

std::vector<const char*> Params::values() const {
  std::vector<const char*> out;
  out.reserve(data_.size());
  for (std::size_t i = 0; i < data_.size(); ++i) {
    out.push_back(is_null_[i] ? nullptr : data_[i].data());
  }
  return out;
}

// ---- Result -------------------------------------------------------------------------------

std::uint64_t Result::affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  return *n == '\0' ? 0 : std::stoull(n);
}

bool Result::is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

std::string_view Result::raw(int row, int col, Oid expected_a, Oid expected_b) const {
  if (row >= rows() || col >= PQnfields(r_.get())) {
    bad_column(col, "no such row/column (row " + std::to_string(row) + ")");
  }
  const Oid type = PQftype(r_.get(), col);
  if (type != expected_a && (expected_b == 0 || type != expected_b)) {
    bad_column(col,
               "type oid " + std::to_string(type) + ", expected " + std::to_string(expected_a));
  }
  if (PQfformat(r_.get(), col) != 1) bad_column(col, "not in binary format");
  if (is_null(row, col)) bad_column(col, "NULL where a value is required");
  return {PQgetvalue(r_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

std::int64_t Result::int8(int row, int col) const {
  const Oid type = PQftype(r_.get(), col);
  if (type == kInt4Oid) return int4(row, col);
  const auto v = raw(row, col, kInt8Oid);
  if (v.size() != 8) bad_column(col, "int8 of " + std::to_string(v.size()) + " bytes");
  return static_cast<std::int64_t>(get_be(v, 0, 8));
}

std::int32_t Result::int4(int row, int col) const {
  const auto v = raw(row, col, kInt4Oid);
  if (v.size() != 4) bad_column(col, "int4 of " + std::to_string(v.size()) + " bytes");
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(v, 0, 4)));
}

bool Result::boolean(int row, int col) const {
  const auto v = raw(row, col, kBoolOid);
  if (v.size() != 1) bad_column(col, "bool of " + std::to_string(v.size()) + " bytes");
  return v[0] != 0;
}

std::string Result::text(int row, int col) const {
  const Oid type = PQftype(r_.get(), col);
  if (type == kJsonbOid) {
    const auto v = raw(row, col, kJsonbOid);
    if (v.empty() || v[0] != 1) bad_column(col, "unknown jsonb binary version");
    return std::string(v.substr(1));
  }
  constexpr Oid kVarcharOid = 1043;
  constexpr Oid kNameOid = 19;
  if (type == kNameOid) return std::string(raw(row, col, kNameOid));
  return std::string(raw(row, col, kTextOid, kVarcharOid));
}

TimePoint Result::time(int row, int col) const {
  const auto v = raw(row, col, kTimestamptzOid);
  if (v.size() != 8) bad_column(col, "timestamptz of " + std::to_string(v.size()) + " bytes");
  return from_pg_micros(static_cast<std::int64_t>(get_be(v, 0, 8)));
}

std::optional<std::int64_t> Result::optional_int8(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int8(row, col);
}

std::optional<TimePoint> Result::optional_time(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return time(row, col);
}

std::vector<std::int64_t> Result::int8_array(int row, int col) const {
  const auto v = raw(row, col, kInt8ArrayOid);
  if (v.size() < 12) bad_column(col, "truncated array header");
  const auto ndim = static_cast<std::uint32_t>(get_be(v, 0, 4));
  std::vector<std::int64_t> out;
  if (ndim == 0) return out;
  if (ndim != 1 || v.size() < 20) bad_column(col, "expected a one-dimensional array");
  const auto n = static_cast<std::uint32_t>(get_be(v, 12, 4));
  std::size_t pos = 20;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (pos + 4 > v.size()) bad_column(col, "truncated array");
    const auto len = static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(v, pos, 4)));
    pos += 4;
    if (len != 8 || pos + 8 > v.size()) bad_column(col, "NULL or malformed int8 array element");
    out.push_back(static_cast<std::int64_t>(get_be(v, pos, 8)));
    pos += 8;
  }
  return out;
}

}  // namespace pgqrs::pg
