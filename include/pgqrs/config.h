// Connection and runtime configuration (SPEC §1).
//
// A Config is plain data. Config::load() fills one from, in increasing precedence:
// defaults < ./pgqrs.yaml (or .yml) < PGQRS_* environment < the file named by
// PGQRS_CONFIG_FILE (or the path passed to load()) < values the caller sets afterwards.
// validate() checks every field; a bad value is a ConfigError naming the field, the bad
// value and where it came from. Passwords in DSNs are never echoed in messages.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgqrs {

// Limits applied to every enqueued payload, and the optional enqueue rate limit (SPEC §7).
struct ValidationConfig {
  std::size_t max_payload_size_bytes = 1024 * 1024;  // serialised JSON size
  std::size_t max_string_length = 1024 * 1024;       // any single string value or key
  std::size_t max_object_depth = 32;                 // nesting of objects/arrays
  std::vector<std::string> forbidden_keys;           // top-level keys a payload must not have
  std::vector<std::string> required_keys;            // top-level keys a payload must have
  std::optional<double> max_enqueue_per_second;      // token-bucket rate; unset = unlimited
  std::optional<std::uint32_t> max_enqueue_burst;    // bucket size; default = ceil(rate)
};

enum class DurabilityMode { kDurable, kLocal };

struct SqliteConfig {
  bool use_wal = true;  // journal_mode=WAL, so readers do not block the writer
};

struct S3Config {
  DurabilityMode mode = DurabilityMode::kDurable;
  // Local cache of the S3 object; empty = per-user default ($XDG_CACHE_HOME/pgqrs/s3, else
  // ~/.cache/pgqrs/s3).
  std::string cache_dir;
};

// Values that take the place of what files and the environment say, applied by
// Config::load() before it validates (e.g. a command line's --dsn / --schema), so a stale
// PGQRS_DSN or PGQRS_SCHEMA that is overridden cannot fail the load.
struct ConfigOverrides {
  std::optional<std::string> dsn;
  std::optional<std::string> schema;
};

struct Config {
  std::string dsn;
  std::string schema = "public";
  std::uint32_t max_connections = 16;
  std::uint32_t connection_timeout_seconds = 30;
  // How long connect() keeps trying to reach the database (refused, unreachable) before it
  // fails with ConnectionError; 0: connection_timeout_seconds. Postgres: the whole first
  // connection, retries included; S3: each connection attempt. (SQLite and Turso open a
  // local file.) The CLI sets it from --connect-timeout (default 2).
  std::uint32_t connect_timeout_seconds = 0;
  // Postgres: how long one statement may take, waiting for the server's answer included
  // (a stalled network, a lock held elsewhere); 0: connection_timeout_seconds. Enforced on
  // both sides: the client stops waiting on the socket (the connection is discarded: a
  // read is retried, a write's outcome is unknown) and the server's statement_timeout is
  // set to it (the server cancels what the client gave up on). (The other backends run
  // statements locally and bound their waits with connection_timeout_seconds.)
  std::uint32_t statement_timeout_seconds = 0;
  std::uint32_t default_lock_time_seconds = 30;
  std::uint32_t default_max_batch_size = 100;
  std::uint32_t max_read_ct = 5;
  std::uint32_t heartbeat_interval_seconds = 5;
  std::uint32_t poll_interval_ms = 250;
  // Safe upgrades (docs/workflows.md): the application version this process runs. Runs it
  // triggers record it, and its workflow workers execute only runs of this version (or
  // unversioned ones). Empty (the default): unversioned, serving every run. At most 128
  // characters of [A-Za-z0-9_.:+-]. File key app_version, env PGQRS_APP_VERSION.
  std::string app_version;
  ValidationConfig validation;
  SqliteConfig sqlite;
  S3Config s3;

  // A default Config for `dsn` (no files or environment consulted).
  static Config from_dsn(std::string dsn);

  // Layered load as described above, then `overrides`. `file`, when given, takes the place
  // of PGQRS_CONFIG_FILE. A missing explicit file is a ConfigError; a missing ./pgqrs.yaml is
  // not. Every field but the dsn is validated (callers may still replace the dsn; connecting
  // parses and checks it).
  static Config load(const std::optional<std::filesystem::path>& file = std::nullopt,
                     const ConfigOverrides& overrides = {});

  // Throws ConfigError naming the first invalid field.
  void validate() const;
};

// The DSN with any password replaced by "***", safe to print. Works on any text, also one
// that is not a valid DSN.
std::string redact_dsn(const std::string& dsn);

// `message` with `dsn` (as given; valid or not) hidden in it: each copy of the whole DSN
// replaced by redact_dsn(dsn), and each password of the DSN (as written or percent-decoded,
// 3 bytes or more) replaced by "***". For messages that may quote a DSN from outside.
std::string scrub_dsn(std::string message, std::string_view dsn);

}  // namespace pgqrs
