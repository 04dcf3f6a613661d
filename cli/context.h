// State shared by the CLI's commands: global options, the lazily opened Store, the output
// sink, and the command chosen by the parser.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "output.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs::cli {

// A mistake in how the command was called (exit code 2), found after CLI11's parsing:
// no DSN anywhere, a malformed JSON payload read from stdin, ...
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Values of the global options (before the group name).
struct GlobalOptions {
  std::string dsn;
  std::string schema;
  std::string config_file;
  std::string format = "table";
  std::string log_level = "warn";
  // Seconds connect() keeps trying a database that refuses or does not answer. A person at a
  // terminal wants to hear at once that the server is down, not after the library's 30 s.
  std::uint32_t connect_timeout = 2;
};

class Context {
 public:
  explicit Context(std::ostream& out) : out_(&out) {}

  GlobalOptions& options() { return opts_; }
  Output output() const;

  // The store named by --dsn / config / environment, opened on first use. Throws
  // UsageError when no DSN is configured anywhere and pgqrs::Error (ConfigError,
  // ConnectionError, ...) when it cannot be opened.
  const Store& store();
  Admin admin() { return pgqrs::admin(store()); }
  // S3 stores (s3:// DSNs, docs/s3.md): in local mode store() snapshots the object when it
  // opens the store (unless the cache holds unsynced writes, which are kept), and finish()
  // syncs what the command wrote. The `s3` commands turn this off to act explicitly.
  void set_s3_auto_sync(bool enabled) { s3_auto_sync_ = enabled; }
  // Called after a command succeeded.
  void finish();
  // The DSN in use with its password hidden ("" before store() succeeded).
  const std::string& redacted_dsn() const { return redacted_dsn_; }

  // The command selected on the command line; set by the parser callbacks.
  void set_action(std::function<void()> action) { action_ = std::move(action); }
  const std::function<void()>& action() const { return action_; }

  // `message` with every DSN this process has seen hidden (pgqrs::scrub_dsn: the DSN
  // redacted, its passwords replaced by "***"). Defence in depth: the library already
  // redacts its own messages.
  std::string scrub(std::string message) const;

 private:
  Config resolve_config();
  void remember_dsn(const std::string& dsn);

  GlobalOptions opts_;
  std::ostream* out_;
  std::optional<Store> store_;
  std::string redacted_dsn_;
  std::vector<std::string> raw_dsns_;
  std::function<void()> action_;
  bool s3_auto_sync_ = true;
};

}  // namespace pgqrs::cli
