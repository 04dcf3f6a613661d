#include "context.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "pgqrs/s3.h"

namespace pgqrs::cli {

Output Context::output() const {
  return Output(parse_format(opts_.format).value_or(Format::kTable), *out_);
}

void Context::remember_dsn(const std::string& dsn) {
  if (!dsn.empty()) raw_dsns_.push_back(dsn);
}

std::string Context::scrub(std::string message) const {
  for (const auto& raw : raw_dsns_) message = scrub_dsn(std::move(message), raw);
  return message;
}

Config Context::resolve_config() {
  // Every DSN this process was given, for scrub(): the flag, the environment, the files.
  if (const char* env_dsn = std::getenv("PGQRS_DSN")) {  // NOLINT(concurrency-mt-unsafe)
    remember_dsn(env_dsn);
  }
  remember_dsn(opts_.dsn);

  // Explicit flags win over files and the environment, and take their place before the
  // load validates (a stale PGQRS_SCHEMA must not break `--schema good`).
  ConfigOverrides overrides;
  if (!opts_.dsn.empty()) overrides.dsn = opts_.dsn;
  if (!opts_.schema.empty()) overrides.schema = opts_.schema;
  std::optional<std::filesystem::path> file;
  if (!opts_.config_file.empty()) file = opts_.config_file;
  Config config = Config::load(file, overrides);
  config.connect_timeout_seconds = opts_.connect_timeout;
  remember_dsn(config.dsn);
  if (config.dsn.empty()) {
    throw UsageError(
        "no DSN given. Name the database in one of these ways:\n"
        "  1. the --dsn option, e.g. pgqrs --dsn sqlite:///var/lib/app/queue.db queue list\n"
        "  2. the PGQRS_DSN environment variable\n"
        "  3. a config file with a 'dsn:' key: --config FILE, the file named by "
        "PGQRS_CONFIG_FILE, or ./pgqrs.yaml");
  }
  return config;  // connect_with_config() parses and checks the DSN
}

const Store& Context::store() {
  if (!store_) {
    Config config = resolve_config();
    redacted_dsn_ = redact_dsn(config.dsn);
    store_.emplace(connect_with_config(config));
    if (s3_auto_sync_ && store_->backend_name() == "s3" &&
        config.s3.mode == DurabilityMode::kLocal) {
      try {
        as_s3(*store_).snapshot();  // durable mode downloaded the object when connecting
      } catch (const ConflictError& e) {
        // Unsynced local writes (kept; `pgqrs s3 sync` publishes them) or no object yet.
        std::cerr << "note: " << scrub(e.what()) << '\n';
      }
    }
  }
  return *store_;
}

void Context::finish() {
  if (store_ && s3_auto_sync_ && store_->backend_name() == "s3" &&
      store_->config().s3.mode == DurabilityMode::kLocal) {
    as_s3(*store_).sync();  // no request when the command wrote nothing
  }
}

}  // namespace pgqrs::cli
