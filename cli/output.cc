#include "output.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <ostream>

namespace pgqrs::cli {

std::optional<Format> parse_format(std::string_view text) noexcept {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  return std::nullopt;
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) widths[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      out << row[c];
      if (c + 1 < row.size()) out << std::string(widths[c] - row[c].size() + 2, ' ');
    }
    out << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
  if (rows_.empty()) out << "(none)\n";
}

void print_fields(std::ostream& out, const Fields& fields) {
  std::size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  for (const auto& [name, value] : fields) {
    out << name << ':' << std::string(width - name.size() + 2, ' ') << value << '\n';
  }
}

void Output::print_json(const nlohmann::json& value) const {
  *out_ << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

void Output::print_table(const Table& table) const { table.print(*out_); }

void Output::print_fields(const Fields& fields) const { cli::print_fields(*out_, fields); }

void Output::print_line(std::string_view line) const { *out_ << line << '\n'; }

std::string format_time(TimePoint t) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  auto ms_since_epoch = duration_cast<milliseconds>(t.time_since_epoch()).count();
  auto secs = ms_since_epoch / 1000;
  auto millis = ms_since_epoch % 1000;
  if (millis < 0) {  // floor division for times before 1970
    millis += 1000;
    secs -= 1;
  }
  auto tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return "invalid-time";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

std::string format_age(std::chrono::milliseconds ms) {
  long long v = ms.count();
  char buf[64];
  // append, not "-" + string: GCC 12 at -O3 reports a false -Wrestrict in operator+
  // (GCC PR 105329), and make deb builds at -O3 with warnings as errors.
  if (v < 0) return std::string("-").append(format_age(std::chrono::milliseconds(-v)));
  if (v < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", v);
  } else if (v < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(v) / 1000.0);
  } else if (v < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm %02llds", v / 60'000, (v / 1000) % 60);
  } else if (v < 86'400'000) {
    std::snprintf(buf, sizeof buf, "%lldh %02lldm", v / 3'600'000, (v / 60'000) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd %02lldh", v / 86'400'000, (v / 3'600'000) % 24);
  }
  return buf;
}

std::string or_dash(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : std::string("-");
}

std::string or_dash(const std::optional<TimePoint>& v) {
  return v ? format_time(*v) : std::string("-");
}

std::string compact_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string truncate(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t keep = max <= 3 ? max : max - 3;
  // Never cut inside a UTF-8 sequence: back off over continuation bytes (10xxxxxx).
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  return std::string(text.substr(0, keep)) + (max <= 3 ? "" : "...");
}

}  // namespace pgqrs::cli
