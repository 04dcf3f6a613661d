#include "backend/dsn.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "pgqrs/error.h"

namespace pgqrs::backend {
namespace {

// Copies of a password shorter than this are not searched for, or every "a" of "localhost"
// would turn into "***" (docs/decisions.md H2); such a password is masked where it stands.
constexpr std::size_t kMinMaskedElsewhere = 4;
constexpr std::string_view kMask = "***";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Where the URI user-info password lies, in both readings: through the last '@' of the
// authority (the authority ends at the first '/'; a '?' does not end it, as in libpq) and,
// as libpq reads it, through the first '@' after the colon. npos when there is none.
struct UserInfo {
  std::size_t begin = std::string_view::npos;  // first byte of the password
  std::size_t end_last = 0;                    // one past it, last-'@' reading
  std::size_t end_first = 0;                   // one past it, first-'@' reading
};

UserInfo find_user_info(std::string_view text) {
  UserInfo u;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return u;
  const auto start = scheme_end + 3;
  const auto end = std::min(text.find('/', start), text.size());
  if (end == start) return u;
  const auto at = text.rfind('@', end - 1);
  if (at == std::string_view::npos || at < start) return u;
  const auto colon = text.find(':', start);
  if (colon == std::string_view::npos || colon >= at) return u;
  u.begin = colon + 1;
  u.end_last = at;
  u.end_first = text.find('@', colon + 1);
  return u;
}

bool iequals_at(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(text[pos + k])) != word[k]) return false;
  }
  return true;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

[[noreturn]] void no_dsn() {
  throw ConfigError(
      "no dsn given: pass one (e.g. sqlite:///path/to/queue.db), set PGQRS_DSN, or put "
      "'dsn:' in pgqrs.yaml");
}

bool parse_flag(const Dsn& dsn, std::string_view key, std::string_view value) {
  std::string v(value);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true" || v == "on" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "off" || v == "0" || v == "no") return false;
  dsn.fail(std::string(key) + " must be true or false, not '" + std::string(value) + "'");
}

// The pgqrs_* parameters out of the query string; everything else kept, in order.
PostgresDsn parse_postgres(const Dsn& dsn) {
  PostgresDsn pg;
  const std::string& raw = dsn.reveal();
  const auto q = raw.find('?');
  pg.uri = raw.substr(0, q);
  if (q == std::string::npos) return pg;
  std::string kept;
  std::string_view query = std::string_view(raw).substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (!key.starts_with("pgqrs_")) {
      kept += kept.empty() ? "" : "&";
      kept += item;
    } else if (key == "pgqrs_prepared") {
      pg.prepared = parse_flag(dsn, key, value);
    } else if (key == "pgqrs_listen") {
      pg.listen = parse_flag(dsn, key, value);
    } else {
      dsn.fail("unknown pgqrs parameter '" + std::string(key) +
               "' (known: pgqrs_prepared, pgqrs_listen)");
    }
  }
  if (!kept.empty()) pg.uri += "?" + kept;
  return pg;
}

}  // namespace

std::string_view to_string(Scheme s) noexcept {
  switch (s) {
    case Scheme::kPostgres:
      return "postgres";
    case Scheme::kSqlite:
      return "sqlite";
    case Scheme::kTurso:
      return "turso";
    case Scheme::kS3:
      return "s3";
  }
  return "unknown";
}

// ---- secrets and redaction ---------------------------------------------------------------

std::vector<std::string> dsn_secrets(std::string_view text) {
  std::vector<std::string> found;
  auto add = [&](std::string_view secret) {
    for (const std::string& s : {std::string(secret), percent_decode(secret)}) {
      if (!s.empty() && std::find(found.begin(), found.end(), s) == found.end()) {
        found.push_back(s);
      }
    }
  };
  if (const UserInfo u = find_user_info(text); u.begin != std::string_view::npos) {
    add(text.substr(u.begin, u.end_last - u.begin));
    add(text.substr(u.begin, u.end_first - u.begin));
  }
  // password=... as a URL query parameter or a libpq keyword/value pair, anywhere.
  static constexpr std::string_view kKey = "password=";
  for (std::size_t i = 0; i + kKey.size() <= text.size(); ++i) {
    if (!iequals_at(text, i, kKey)) continue;
    const std::size_t start = i + kKey.size();
    std::size_t amp = text.find('&', start);
    if (amp == std::string_view::npos) amp = text.size();
    std::size_t stop = start;
    while (stop < amp && !is_space(text[stop])) ++stop;
    add(text.substr(start, amp - start));
    add(text.substr(start, stop - start));
  }
  return found;
}

std::string scrub_secrets(std::string message, const std::vector<std::string>& secrets,
                          std::size_t min_size) {
  // Masking one copy may not leave another whole (copies can overlap, and a mask next to a
  // secret holding '*' can form a new copy): repeat until no secret is left. Each
  // replacement shortens the text (secrets of 4+ bytes) or removes a secret that holds no
  // "***" (shorter ones), so this ends.
  for (bool changed = true; changed;) {
    changed = false;
    for (const std::string& secret : secrets) {
      if (secret.size() < min_size || secret.empty()) continue;
      if (secret.size() <= kMask.size() && secret.find('*') != std::string::npos) continue;
      for (auto pos = message.find(secret); pos != std::string::npos;
           pos = message.find(secret, pos + kMask.size())) {
        message.replace(pos, secret.size(), kMask);
        changed = true;
      }
    }
  }
  return message;
}

std::string redact_dsn_text(std::string_view text) {
  std::string out(text);
  // scheme://user:password@host... -> scheme://user:***@host... (the password through the
  // last '@', so a password typed with an unencoded '@' ("p@ss") is hidden whole).
  if (const UserInfo u = find_user_info(text); u.begin != std::string_view::npos) {
    out.replace(u.begin, u.end_last - u.begin, kMask);
  }
  // key=value style: password=secret, wherever it stands.
  static const std::regex kPasswordParam("(password=)[^&\\s]*", std::regex::icase);
  out = std::regex_replace(out, kPasswordParam, "$1***");
  // Every other copy of a secret of 4+ bytes (pasted twice, in a host name or parameter,
  // percent-decoded), after the scheme so that "postgresql://" stays readable.
  const std::vector<std::string> secrets = dsn_secrets(text);
  const auto scheme_end = out.find("://");
  const std::size_t keep = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  return out.substr(0, keep) + scrub_secrets(out.substr(keep), secrets, kMinMaskedElsewhere);
}

// ---- the value ---------------------------------------------------------------------------

Dsn::Dsn() : text_("sqlite::memory:"), redacted_(text_), path_(":memory:") {}

Dsn Dsn::sqlite_file(std::string path) {
  Dsn dsn;
  dsn.text_ = "sqlite://" + path;
  dsn.redacted_ = dsn.text_;
  dsn.path_ = std::move(path);
  return dsn;
}

std::string Dsn::scrub(std::string message) const {
  return scrub_secrets(std::move(message), secrets_);
}

void Dsn::fail(std::string_view why) const {
  throw ConfigError("invalid dsn '" + redacted_ + "': " + scrub(std::string(why)));
}

Dsn Dsn::parse(std::string_view text) {
  if (text.empty()) no_dsn();
  Dsn dsn;
  dsn.text_ = std::string(text);
  dsn.redacted_ = redact_dsn_text(text);
  dsn.secrets_ = dsn_secrets(text);
  dsn.path_.clear();

  if (text.starts_with("postgresql://") || text.starts_with("postgres://")) {
    dsn.scheme_ = Scheme::kPostgres;
    if (text.substr(text.find("://") + 3).empty()) {
      dsn.fail("expected postgresql://user:pass@host:port/db");
    }
    dsn.postgres_ = parse_postgres(dsn);
    return dsn;
  }
  if (text == "sqlite::memory:" || text == "sqlite://:memory:") {
    dsn.scheme_ = Scheme::kSqlite;
    dsn.path_ = ":memory:";
    return dsn;
  }
  auto file_scheme = [&](Scheme scheme, std::string_view prefix) {
    dsn.scheme_ = scheme;
    std::string_view path = text.substr(prefix.size());
    // sqlite:///abs/path -> "/abs/path"; sqlite://rel/path -> "rel/path".
    if (path.empty() || path == "/") {
      dsn.fail("missing file path (e.g. " + std::string(prefix) + "/var/lib/q.db)");
    }
    if (path.find('?') != std::string_view::npos) {
      dsn.fail("query parameters are not supported for " + std::string(to_string(scheme)) +
               " DSNs");
    }
    if (path.back() == '/') dsn.fail("path names a directory, not a database file");
    dsn.path_ = std::string(path);
    return dsn;
  };
  if (text.starts_with("sqlite://")) return file_scheme(Scheme::kSqlite, "sqlite://");
  if (text.starts_with("turso://")) {
    if (text == "turso://:memory:") {
      dsn.fail("turso DSNs name a database file (turso:///path/to/file.db)");
    }
    return file_scheme(Scheme::kTurso, "turso://");
  }
  if (text == "turso::memory:") {
    dsn.fail("turso DSNs name a database file (turso:///path/to/file.db)");
  }
  if (text.starts_with("s3://")) {
    dsn.scheme_ = Scheme::kS3;
    const std::string_view rest = text.substr(5);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) dsn.fail("expected s3://bucket/key.sqlite");
    dsn.bucket_ = std::string(rest.substr(0, slash));
    dsn.key_ = std::string(rest.substr(slash + 1));
    if (dsn.key_.empty() || dsn.key_.back() == '/') {
      dsn.fail("missing object key (expected s3://bucket/key.sqlite)");
    }
    for (char c : dsn.bucket_) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
      if (!ok) dsn.fail("bucket name '" + dsn.bucket_ + "' has invalid characters");
    }
    if (dsn.bucket_.size() < 3 || dsn.bucket_.size() > 63) {
      dsn.fail("bucket name must be 3-63 characters");
    }
    return dsn;
  }
  const auto colon = text.find(':');
  const std::string scheme(colon == std::string_view::npos ? text : text.substr(0, colon));
  dsn.fail("unknown scheme '" + scheme +
           "' (expected postgresql://, postgres://, sqlite://, turso:// or s3://)");
}

}  // namespace pgqrs::backend
