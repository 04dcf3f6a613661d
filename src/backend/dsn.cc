#include "backend/dsn.h"

#include "pgqrs/config.h"
#include "pgqrs/error.h"

namespace pgqrs::backend {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }

[[noreturn]] void bad(const std::string& redacted, const std::string& why) {
  throw ConfigError("invalid dsn '" + redacted + "': " + why);
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

Dsn parse_dsn(std::string_view text) {
  Dsn dsn;
  dsn.raw = std::string(text);
  dsn.redacted = redact_dsn(dsn.raw);
  if (text.empty()) {
    throw ConfigError(
        "no dsn given: pass one (e.g. sqlite:///path/to/queue.db), set PGQRS_DSN, or put "
        "'dsn:' in pgqrs.yaml");
  }
  if (starts_with(text, "postgresql://") || starts_with(text, "postgres://")) {
    dsn.scheme = Scheme::kPostgres;
    auto rest = text.substr(text.find("://") + 3);
    if (rest.empty()) bad(dsn.redacted, "expected postgresql://user:pass@host:port/db");
    return dsn;
  }
  if (text == "sqlite::memory:" || text == "sqlite://:memory:") {
    dsn.scheme = Scheme::kSqlite;
    dsn.path = ":memory:";
    return dsn;
  }
  auto file_scheme = [&](Scheme scheme, std::string_view prefix) {
    dsn.scheme = scheme;
    std::string_view path = text.substr(prefix.size());
    // sqlite:///abs/path -> "/abs/path"; sqlite://rel/path -> "rel/path".
    if (path.empty() || path == "/") {
      bad(dsn.redacted, "missing file path (e.g. " + std::string(prefix) + "/var/lib/q.db)");
    }
    auto query = path.find('?');
    if (query != std::string_view::npos) {
      bad(dsn.redacted,
          "query parameters are not supported for " + std::string(to_string(scheme)) + " DSNs");
    }
    if (path.back() == '/') bad(dsn.redacted, "path names a directory, not a database file");
    dsn.path = std::string(path);
    return dsn;
  };
  if (starts_with(text, "sqlite://")) return file_scheme(Scheme::kSqlite, "sqlite://");
  if (starts_with(text, "turso://")) {
    if (text == "turso::memory:" || text == "turso://:memory:") {
      bad(dsn.redacted, "turso DSNs name a database file (turso:///path/to/file.db)");
    }
    return file_scheme(Scheme::kTurso, "turso://");
  }
  if (starts_with(text, "s3://")) {
    dsn.scheme = Scheme::kS3;
    std::string_view rest = text.substr(5);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) {
      bad(dsn.redacted, "expected s3://bucket/key.sqlite");
    }
    dsn.bucket = std::string(rest.substr(0, slash));
    dsn.key = std::string(rest.substr(slash + 1));
    if (dsn.key.empty() || dsn.key.back() == '/') {
      bad(dsn.redacted, "missing object key (expected s3://bucket/key.sqlite)");
    }
    for (char c : dsn.bucket) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
      if (!ok) bad(dsn.redacted, "bucket name '" + dsn.bucket + "' has invalid characters");
    }
    if (dsn.bucket.size() < 3 || dsn.bucket.size() > 63) {
      bad(dsn.redacted, "bucket name must be 3-63 characters");
    }
    return dsn;
  }
  auto colon = text.find(':');
  std::string scheme =
      colon == std::string_view::npos ? std::string(text) : std::string(text.substr(0, colon));
  bad(dsn.redacted, "unknown scheme '" + scheme +
                        "' (expected postgresql://, postgres://, sqlite://, turso:// or s3://)");
}

}  // namespace pgqrs::backend
