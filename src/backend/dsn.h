// The DSN value (SPEC §1): parsed once, when a store is opened, and handed to the registry
// and the backend. It owns
//   - the scheme and each backend's options (file path, S3 bucket/key, the Postgres URI
//     without pgqrs_* parameters and those parameters' values);
//   - redaction: redacted() is the only form that may be printed or logged;
//   - the secrets (every reading of every password in the text, raw and percent-decoded):
//     scrub() removes them from any message, and fail() throws a ConfigError that names the
//     redacted DSN and passes its reason through scrub().
// Nothing here opens a file or a connection, and nothing depends on the engine (src/core):
// core includes this header, never the other way round.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgqrs::backend {

enum class Scheme { kPostgres, kSqlite, kTurso, kS3 };
std::string_view to_string(Scheme s) noexcept;  // "postgres", "sqlite", "turso", "s3"

// The Postgres part of a postgresql:// or postgres:// DSN. Query parameters whose name starts
// with "pgqrs_" are pgqrs options, taken out of the URI that goes to libpq:
//   pgqrs_prepared=true|false  server-side prepared statements (default true)
//   pgqrs_listen=true|false    the LISTEN connection for wake-ups (default true)
struct PostgresDsn {
  std::string uri;  // for libpq only: may hold the password
  bool prepared = true;
  bool listen = true;
};

class Dsn {
 public:
  // An empty in-memory SQLite DSN (a placeholder to assign to).
  Dsn();

  // Parses `text`: one of postgresql:// postgres:// sqlite:// sqlite::memory: turso:// s3://.
  // Throws ConfigError "invalid dsn '<redacted>': <why>" (or "no dsn given: ..." for "").
  static Dsn parse(std::string_view text);
  // A sqlite:// DSN for a file the caller chose (e.g. the S3 backend's cache file): no
  // shape checks, so any path the filesystem accepts works.
  static Dsn sqlite_file(std::string path);

  Scheme scheme() const noexcept { return scheme_; }
  // The DSN with every password replaced by "***": the only form to print.
  const std::string& redacted() const noexcept { return redacted_; }

  // sqlite / turso: the database file (relative or absolute), or ":memory:" (sqlite only).
  const std::string& path() const noexcept { return path_; }
  bool in_memory() const noexcept { return path_ == ":memory:"; }
  // s3: bucket and object key.
  const std::string& bucket() const noexcept { return bucket_; }
  const std::string& key() const noexcept { return key_; }
  // postgres: the libpq URI and pgqrs_* options (the defaults for other schemes).
  const PostgresDsn& postgres() const noexcept { return postgres_; }

  // Every password in the DSN, as written and percent-decoded. Never put one in a message.
  const std::vector<std::string>& secrets() const noexcept { return secrets_; }
  // `message` with every secret replaced by "***".
  std::string scrub(std::string message) const;
  // Throws ConfigError("invalid dsn '<redacted>': <scrub(why)>").
  [[noreturn]] void fail(std::string_view why) const;

  // The DSN exactly as given; holds the password. Only for handing to a driver.
  const std::string& reveal() const noexcept { return text_; }

 private:
  Scheme scheme_ = Scheme::kSqlite;
  std::string text_;
  std::string redacted_;
  std::vector<std::string> secrets_;
  std::string path_;
  std::string bucket_;
  std::string key_;
  PostgresDsn postgres_;
};

// Shorthand for Dsn::parse (kept for callers that parse a text once).
inline Dsn parse_dsn(std::string_view text) { return Dsn::parse(text); }

// The text analysis behind Dsn, usable on any text, also one that is not a valid DSN (the
// public redact_dsn(), and the CLI's defence-in-depth scrubbing of messages):
// every password reading of `text` (user-info through the last '@' of the authority and
// libpq's through the first '@'; each password=... parameter, to '&' and to '&' or space),
// each as written and percent-decoded, without duplicates or empties.
std::vector<std::string> dsn_secrets(std::string_view text);
// `text` with its passwords masked: the user-info password and each password=... value
// where they stand (any length), and every copy of a secret of 4 or more bytes anywhere
// (decision H2). No secret of 4+ bytes remains in the result.
std::string redact_dsn_text(std::string_view text);
// `message` with every occurrence of each secret (of 1 + bytes) replaced by "***", repeated
// until none remains.
std::string scrub_secrets(std::string message, const std::vector<std::string>& secrets,
                          std::size_t min_size = 1);

}  // namespace pgqrs::backend
