#include "core/cron.h"

#include <array>
#include <cctype>
#include <vector>

#include "pgqrs/error.h"

namespace pgqrs::core {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kSearchSeconds = 400LL * 366 * kDay;
constexpr std::size_t kMaxTextLength = 1024;

constexpr std::array<const char*, 12> kMonthNames{"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 7> kDayNames{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct FieldSpec {
  const char* name;
  int min, max;
  const char* const* names;  // names[i] is the value min + i (months from 1, days from 0)
  std::size_t name_count;
  bool question_mark;  // `?` allowed (day fields)
};

constexpr FieldSpec kSecond{"second", 0, 59, nullptr, 0, false};
constexpr FieldSpec kMinute{"minute", 0, 59, nullptr, 0, false};
constexpr FieldSpec kHour{"hour", 0, 23, nullptr, 0, false};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, nullptr, 0, true};
constexpr FieldSpec kMonth{"month", 1, 12, kMonthNames.data(), kMonthNames.size(), false};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, kDayNames.data(), kDayNames.size(), true};

class FieldError {
 public:
  FieldError(std::string_view what, std::string_view text) : what_(what), text_(text) {}
  [[noreturn]] void fail(const FieldSpec& f, std::string_view item, const std::string& why) const {
    throw ValidationError(std::string(what_) + ": invalid " + f.name + " field '" +
                          std::string(item) + "' in '" + std::string(text_) + "': " + why);
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw ValidationError(std::string(what_) + ": invalid expression '" + std::string(text_) +
                          "': " + why);
  }

 private:
  std::string_view what_, text_;
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t from = 0;
  while (true) {
    const std::size_t at = s.find(sep, from);
    out.push_back(
        s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) return out;
    from = at + 1;
  }
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const std::size_t from = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > from) out.push_back(s.substr(from, i - from));
  }
  return out;
}

int value(const FieldSpec& f, std::string_view v, std::string_view item, const FieldError& err) {
  if (v.empty()) err.fail(f, item, "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(v.front()))) {
    int n = 0;
    for (char c : v) {
      if (!std::isdigit(static_cast<unsigned char>(c))) err.fail(f, item, "not a number");
      n = n * 10 + (c - '0');
      if (n > 1000) break;
    }
    if (n < f.min || n > f.max) {
      err.fail(f, item,
               "value out of range " + std::to_string(f.min) + "-" + std::to_string(f.max));
    }
    return n;
  }
  for (std::size_t i = 0; i < f.name_count; ++i) {
    if (v.size() == 3 && std::toupper(static_cast<unsigned char>(v[0])) == f.names[i][0] &&
        std::toupper(static_cast<unsigned char>(v[1])) == f.names[i][1] &&
        std::toupper(static_cast<unsigned char>(v[2])) == f.names[i][2]) {
      return f.min + static_cast<int>(i);
    }
  }
  err.fail(f, item, f.name_count > 0 ? "not a number or a name" : "not a number");
}

// Parses one field into bits [0, max]; returns whether it is restricted (does not start with
// `*` or `?`).
template <std::size_t N>
bool parse_field(const FieldSpec& f, std::string_view text, std::bitset<N>& bits,
                 const FieldError& err) {
  bits.reset();
  for (std::string_view item : split(text, ',')) {
    if (item.empty()) err.fail(f, text, "empty list item");
    const auto parts = split(item, '/');
    if (parts.size() > 2) err.fail(f, item, "more than one '/'");
    int step = 1;
    if (parts.size() == 2) {
      if (parts[1].empty()) err.fail(f, item, "a step is missing after '/'");
      for (char c : parts[1]) {
        if (!std::isdigit(static_cast<unsigned char>(c))) err.fail(f, item, "step is not a number");
      }
      step = parts[1].size() > 4 ? 10000 : std::stoi(std::string(parts[1]));
      if (step < 1 || step > f.max - f.min + 1) {
        err.fail(f, item, "step out of range 1-" + std::to_string(f.max - f.min + 1));
      }
    }
    const std::string_view base = parts[0];
    int lo = f.min, hi = f.max;
    if (base == "*" || (base == "?" && f.question_mark)) {
      if (base == "?" && parts.size() == 2) err.fail(f, item, "'?' takes no step");
    } else if (base == "?") {
      err.fail(f, item, "'?' is allowed only in the day fields");
    } else {
      const auto range = split(base, '-');
      if (range.size() > 2) err.fail(f, item, "more than one '-'");
      lo = value(f, range[0], item, err);
      hi = range.size() == 2 ? value(f, range[1], item, err) : (parts.size() == 2 ? f.max : lo);
      if (lo > hi) err.fail(f, item, "range start is after its end");
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(v));
  }
  return !(text.front() == '*' || text.front() == '?');
}

std::string_view expand_macro(std::string_view text, const FieldError& err) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  err.fail("unknown macro (known: @yearly @annually @monthly @weekly @daily @midnight @hourly)");
}

}  // namespace

CronExpr CronExpr::parse(std::string_view text, std::string_view what) {
  const FieldError err(what, text.substr(0, 80));
  if (text.size() > kMaxTextLength) err.fail("longer than 1024 characters");
  CronExpr e;
  e.text_ = std::string(text);
  std::string_view body = text;
  while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) body.remove_prefix(1);
  while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) body.remove_suffix(1);
  if (!body.empty() && body.front() == '@') body = expand_macro(body, err);
  const auto fields = split_spaces(body);
  if (fields.size() != 5 && fields.size() != 6) {
    err.fail(
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with "
        "seconds first), got " +
        std::to_string(fields.size()));
  }
  std::size_t i = 0;
  e.has_seconds_ = fields.size() == 6;
  if (e.has_seconds_) {
    parse_field(kSecond, fields[i++], e.seconds_, err);
  } else {
    e.seconds_.set(0);
  }
  parse_field(kMinute, fields[i++], e.minutes_, err);
  parse_field(kHour, fields[i++], e.hours_, err);
  e.dom_restricted_ = parse_field(kDayOfMonth, fields[i++], e.days_of_month_, err);
  parse_field(kMonth, fields[i++], e.months_, err);
  std::bitset<8> dow;
  e.dow_restricted_ = parse_field(kDayOfWeek, fields[i++], dow, err);
  for (std::size_t d = 0; d < 7; ++d) e.days_of_week_[d] = dow[d];
  if (dow[7]) e.days_of_week_.set(0);

  // A restricted day-of-month alone must fit one of the months (February counts 29 days).
  if (e.dom_restricted_ && !e.dow_restricted_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if (!e.months_[m]) continue;
      const unsigned max_day = m == 2 ? 29 : days_in_month(2001, m);
      for (unsigned d = 1; d <= max_day && !possible; ++d) possible = e.days_of_month_[d];
    }
    if (!possible) err.fail("it never fires (no month has such a day)");
  }
  return e;
}

bool CronExpr::day_matches(std::int64_t days) const {
  const CivilDate c = civil_from_days(days);
  const bool dom = days_of_month_[c.day];
  const bool dow = days_of_week_[weekday_from_days(days)];
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  if (dom_restricted_) return dom;
  if (dow_restricted_) return dow;
  return true;
}

std::optional<std::int64_t> CronExpr::next_local(std::int64_t t) const {
  const std::int64_t limit = t + kSearchSeconds;
  while (t <= limit) {
    const std::int64_t days = t >= 0 ? t / kDay : -((-t + kDay - 1) / kDay);
    const std::int64_t sod = t - days * kDay;
    const CivilDate c = civil_from_days(days);
    if (!months_[c.month]) {
      const bool december = c.month == 12;
      t = days_from_civil(december ? c.year + 1 : c.year, december ? 1 : c.month + 1, 1) * kDay;
      continue;
    }
    if (!day_matches(days)) {
      t = (days + 1) * kDay;
      continue;
    }
    const std::int64_t h = sod / 3600, m = (sod % 3600) / 60, s = sod % 60;
    if (!hours_[static_cast<std::size_t>(h)]) {
      t = days * kDay + (h + 1) * 3600;
      continue;
    }
    if (!minutes_[static_cast<std::size_t>(m)]) {
      t = days * kDay + h * 3600 + (m + 1) * 60;
      continue;
    }
    if (!seconds_[static_cast<std::size_t>(s)]) {
      ++t;
      continue;
    }
    return t;
  }
  return std::nullopt;
}

std::optional<std::int64_t> CronExpr::next_after(std::int64_t u, const TimeZone& tz) const {
  std::int64_t local = u + tz.offset_at(u) + 1;
  for (int guard = 0; guard < 100000; ++guard) {
    const auto wall = next_local(local);
    if (!wall) return std::nullopt;
    const auto instants = tz.resolve(*wall);
    if (instants.empty()) {  // skipped by a jump forward: fire at the jump
      const std::int64_t g = tz.gap_end(*wall);
      if (g > u) return g;
    } else if (instants.front() > u) {  // repeated wall time: its first occurrence only
      return instants.front();
    }
    local = *wall + 1;
  }
  return std::nullopt;
}

}  // namespace pgqrs::core
