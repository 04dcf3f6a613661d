#include "core/time_zone.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <optional>

#include "pgqrs/error.h"

namespace pgqrs::core {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kLastGeneratedYear = 2400;
constexpr std::size_t kMaxFileBytes = 1 << 20;

[[noreturn]] void bad_zone(std::string_view what, std::string_view name, std::string_view why) {
  throw ValidationError(std::string(what) + ": unknown time zone '" + std::string(name) + "' (" +
                        std::string(why) + ")");
}

std::string zone_dir() {
  const char* dir = std::getenv("TZDIR");
  return (dir != nullptr && *dir != '\0') ? std::string(dir) : std::string("/usr/share/zoneinfo");
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.front() == '-') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '-' || c == '+';
  });
}

std::int64_t be(const std::string& b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// ---- POSIX TZ strings (the TZif footer), e.g. "CET-1CEST,M3.5.0,M10.5.0/3" ----

struct PosixRule {
  enum class Kind { kMonthWeekDay, kJulianNoLeap, kZeroBasedDay } kind = Kind::kMonthWeekDay;
  int month = 0, week = 0, day = 0;  // Mm.w.d, or day for Jn / n
  std::int64_t time = 7200;          // seconds after local midnight (may be negative or > 24 h)
};

struct PosixTz {
  std::int64_t std_offset = 0;  // seconds east of UTC
  std::optional<std::int64_t> dst_offset;
  PosixRule start, end;
};

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  std::optional<PosixTz> parse() {
    PosixTz tz;
    if (!name()) return std::nullopt;
    auto std_off = hms(true);
    if (!std_off) return std::nullopt;
    tz.std_offset = -*std_off;
    if (done()) return tz;
    if (!name()) return std::nullopt;
    tz.dst_offset = tz.std_offset + 3600;
    if (!done() && peek() != ',') {
      auto dst_off = hms(true);
      if (!dst_off) return std::nullopt;
      tz.dst_offset = -*dst_off;
    }
    if (done()) {  // no rule: POSIX's default is US rules; the footers always give one
      return std::nullopt;
    }
    if (!eat(',') || !rule(tz.start) || !eat(',') || !rule(tz.end) || !done()) return std::nullopt;
    return tz;
  }

 private:
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  bool name() {
    if (eat('<')) {
      while (!done() && peek() != '>') ++i_;
      return eat('>');
    }
    const std::size_t from = i_;
    while (!done() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z'))) ++i_;
    return i_ - from >= 3;
  }
  std::optional<std::int64_t> number() {
    if (done() || peek() < '0' || peek() > '9') return std::nullopt;
    std::int64_t v = 0;
    while (!done() && peek() >= '0' && peek() <= '9' && v < 100000) v = v * 10 + (s_[i_++] - '0');
    return v;
  }
  std::optional<std::int64_t> hms(bool sign_allowed) {
    std::int64_t sign = 1;
    if (sign_allowed && eat('-')) {
      sign = -1;
    } else if (sign_allowed) {
      eat('+');
    }
    auto h = number();
    if (!h || *h > 167) return std::nullopt;
    std::int64_t v = *h * 3600;
    if (eat(':')) {
      auto m = number();
      if (!m || *m > 59) return std::nullopt;
      v += *m * 60;
      if (eat(':')) {
        auto sec = number();
        if (!sec || *sec > 59) return std::nullopt;
        v += *sec;
      }
    }
    return sign * v;
  }
  bool rule(PosixRule& r) {
    if (eat('M')) {
      auto m = number();
      if (!m || !eat('.')) return false;
      auto w = number();
      if (!w || !eat('.')) return false;
      auto d = number();
      if (!d || *m < 1 || *m > 12 || *w < 1 || *w > 5 || *d > 6) return false;
      r.kind = PosixRule::Kind::kMonthWeekDay;
      r.month = static_cast<int>(*m);
      r.week = static_cast<int>(*w);
      r.day = static_cast<int>(*d);
    } else {
      r.kind = eat('J') ? PosixRule::Kind::kJulianNoLeap : PosixRule::Kind::kZeroBasedDay;
      auto n = number();
      if (!n || *n > 365) return false;
      r.day = static_cast<int>(*n);
    }
    if (eat('/')) {
      auto t = hms(true);
      if (!t) return false;
      r.time = *t;
    }
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Local seconds (since 1970-01-01 00:00 local) at which `r` happens in `year`.
std::int64_t rule_local_seconds(const PosixRule& r, std::int64_t year) {
  std::int64_t days = 0;
  switch (r.kind) {
    case PosixRule::Kind::kMonthWeekDay: {
      const auto month = static_cast<unsigned>(r.month);
      const std::int64_t first = days_from_civil(year, month, 1);
      const unsigned first_wd = weekday_from_days(first);
      std::int64_t dom = 1 + (r.day - static_cast<int>(first_wd) + 7) % 7 + 7 * (r.week - 1);
      while (dom > days_in_month(year, month)) dom -= 7;
      days = first + dom - 1;
      break;
    }
    case PosixRule::Kind::kJulianNoLeap: {  // 1..365, February 29 never counted
      std::int64_t n = r.day;
      if (is_leap(year) && n >= 60) ++n;
      days = days_from_civil(year, 1, 1) + n - 1;
      break;
    }
    case PosixRule::Kind::kZeroBasedDay:
      days = days_from_civil(year, 1, 1) + r.day;
      break;
  }
  return days * kDay + r.time;
}

void extend_with_footer(const PosixTz& tz, std::vector<TimeZone::Transition>& out,
                        std::int64_t& initial) {
  if (!tz.dst_offset) {
    if (out.empty()) {
      initial = tz.std_offset;
    } else if (out.back().offset != tz.std_offset) {
      out.push_back({out.back().at + 1, tz.std_offset});
    }
    return;
  }
  const std::int64_t last = out.empty() ? std::numeric_limits<std::int64_t>::min() : out.back().at;
  const std::int64_t from_year = out.empty() ? 1970 : civil_from_days(last / kDay).year;
  for (std::int64_t y = from_year; y <= kLastGeneratedYear; ++y) {
    TimeZone::Transition on{rule_local_seconds(tz.start, y) - tz.std_offset, *tz.dst_offset};
    TimeZone::Transition off{rule_local_seconds(tz.end, y) - *tz.dst_offset, tz.std_offset};
    if (off.at < on.at) std::swap(on, off);  // southern hemisphere: DST spans the new year
    for (const auto& t : {on, off}) {
      if (t.at > last) out.push_back(t);
    }
  }
  if (out.empty()) initial = tz.std_offset;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

unsigned weekday_from_days(std::int64_t z) {
  return static_cast<unsigned>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

unsigned days_in_month(std::int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

TimeZone TimeZone::utc() {
  TimeZone z;
  z.name_ = "UTC";
  return z;
}

TimeZone TimeZone::load(std::string_view name, std::string_view what) {
  if (name == "UTC") return utc();
  if (!valid_zone_name(name)) bad_zone(what, name, "not a zone name");
  // Zones are read once per process (schedules re-resolve theirs on every firing).
  static std::mutex mu;
  static std::map<std::string, TimeZone, std::less<>> cache;  // GUARDED_BY(mu)
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(name); it != cache.end()) return it->second;
  }
  TimeZone z = read_file(name, what);
  std::lock_guard lock(mu);
  return cache.emplace(std::string(name), std::move(z)).first->second;
}

TimeZone TimeZone::read_file(std::string_view name, std::string_view what) {
  const std::string path = zone_dir() + "/" + std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    bad_zone(what, name, "not in the zone database " + zone_dir());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_zone(what, name, "not in the zone database " + zone_dir());
  const std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.size() > kMaxFileBytes) bad_zone(what, name, "file too large");
  if (b.size() < 44 || b.compare(0, 4, "TZif") != 0) bad_zone(what, name, "not a TZif file");

  auto counts = [&](std::size_t at) {
    std::array<std::int64_t, 6> c{};
    for (int i = 0; i < 6; ++i) c[i] = be(b, at + 20 + 4 * i, 4);
    return c;  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  };
  auto block_size = [](const std::array<std::int64_t, 6>& c, int tsize) {
    return c[3] * tsize + c[3] + c[4] * 6 + c[5] + c[2] * (tsize + 4) + c[1] + c[0];
  };
  const char version = b[4];
  std::size_t at = 0;
  int tsize = 4;
  auto c = counts(0);
  if (version >= '2') {
    at = 44 + static_cast<std::size_t>(block_size(c, 4));
    if (b.size() < at + 44) bad_zone(what, name, "truncated TZif file");
    c = counts(at);
    tsize = 8;
  }
  const std::size_t data = at + 44;
  const std::size_t end = data + static_cast<std::size_t>(block_size(c, tsize));
  if (c[4] < 1 || b.size() < end) bad_zone(what, name, "truncated TZif file");

  TimeZone z;
  z.name_ = std::string(name);
  const std::size_t idx_at = data + static_cast<std::size_t>(c[3] * tsize);
  const std::size_t types_at = idx_at + static_cast<std::size_t>(c[3]);
  auto type_offset = [&](std::int64_t i) { return be(b, types_at + 6 * i, 4); };
  z.initial_offset_ = type_offset(0);
  for (std::int64_t i = 0; i < c[3]; ++i) {
    const std::int64_t t = be(b, data + static_cast<std::size_t>(i * tsize), tsize);
    const auto type = static_cast<unsigned char>(b[idx_at + i]);
    if (type >= c[4]) bad_zone(what, name, "corrupt TZif file");
    z.transitions_.push_back({t, type_offset(type)});
  }
  if (version >= '2' && end < b.size() && b[end] == '\n') {
    const std::size_t close = b.find('\n', end + 1);
    if (close != std::string::npos) {
      const std::string footer = b.substr(end + 1, close - end - 1);
      if (auto tz = PosixParser(footer).parse()) {
        extend_with_footer(*tz, z.transitions_, z.initial_offset_);
      }
    }
  }
  return z;
}

std::int64_t TimeZone::offset_at(std::int64_t t) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t,
                             [](std::int64_t v, const Transition& tr) { return v < tr.at; });
  if (it == transitions_.begin()) return initial_offset_;
  return std::prev(it)->offset;
}

std::vector<std::int64_t> TimeZone::resolve(std::int64_t local) const {
  // A wall time maps to an instant through an offset in force one day before or after it
  // (zones change offset at most once a day).
  std::vector<std::int64_t> out;
  for (std::int64_t off : {offset_at(local - kDay), offset_at(local + kDay), offset_at(local)}) {
    const std::int64_t u = local - off;
    if (offset_at(u) == off && std::find(out.begin(), out.end(), u) == out.end()) out.push_back(u);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::int64_t TimeZone::gap_end(std::int64_t local) const {
  // The instant computed with the offset before the gap lies after the jump; the jump is the
  // last transition at or before it.
  const std::int64_t u = local - offset_at(local - kDay);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), u,
                             [](std::int64_t v, const Transition& tr) { return v < tr.at; });
  if (it == transitions_.begin()) return u;
  return std::prev(it)->at;
}

}  // namespace pgqrs::core
