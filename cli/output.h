// Rendering of command results: aligned text tables for people, JSON for scripts.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgqrs/pgqrs.h"

namespace pgqrs::cli {

enum class Format { kTable, kJson };

// Parses "table" / "json"; nullopt otherwise.
std::optional<Format> parse_format(std::string_view text) noexcept;

// A text table: a header row and rows of cells, printed with columns padded to the widest
// cell and separated by two spaces. Cells are single-line text.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  // Writes the table; an empty table prints its header and "(none)".
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// One record shown as "field: value" lines with the values aligned.
using Fields = std::vector<std::pair<std::string, std::string>>;
void print_fields(std::ostream& out, const Fields& fields);

// Where a command writes its result. In JSON mode every command prints exactly one JSON
// document (pretty-printed, newline-terminated) on stdout.
class Output {
 public:
  Output(Format format, std::ostream& out) : format_(format), out_(&out) {}
  Format format() const { return format_; }
  bool json() const { return format_ == Format::kJson; }
  std::ostream& stream() const { return *out_; }

  void print_json(const nlohmann::json& value) const;
  void print_table(const Table& table) const;
  void print_fields(const Fields& fields) const;
  void print_line(std::string_view line) const;

 private:
  Format format_;
  std::ostream* out_;
};

// ISO-8601 UTC with milliseconds, e.g. "2026-11-22T10:00:00.123Z".
std::string format_time(TimePoint t);
// A duration for people: "850ms", "12.3s", "5m 03s", "2h 05m", "3d 04h".
std::string format_age(std::chrono::milliseconds ms);
// Text for optional cells: the value, or "-" when absent.
std::string or_dash(const std::optional<std::int64_t>& v);
std::string or_dash(const std::optional<TimePoint>& v);
// `text` cut to at most `max` characters, ending in "..." when cut.
std::string truncate(std::string_view text, std::size_t max);
// `value` as compact single-line JSON text (invalid UTF-8 replaced).
std::string compact_json(const nlohmann::json& value);

}  // namespace pgqrs::cli
