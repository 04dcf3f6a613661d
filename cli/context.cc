#include "context.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "pgqrs/s3.h"

namespace pgqrs::cli {

namespace {

constexpr std::size_t kMinSecretLength = 3;  // shorter strings would mangle every message

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
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
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

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (std::size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::vector<std::string> dsn_secrets(std::string_view dsn) {
  std::vector<std::string> found;
  auto add = [&](std::string_view secret) {
    if (secret.empty()) return;
    found.emplace_back(secret);
    std::string decoded = percent_decode(secret);
    if (decoded != secret) found.push_back(std::move(decoded));
  };
  if (auto scheme_end = dsn.find("://"); scheme_end != std::string_view::npos) {
    std::string_view rest = dsn.substr(scheme_end + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
        add(userinfo.substr(colon + 1));
      }
    }
  }
  // password=... as a URL query parameter or a libpq keyword/value pair.
  static constexpr std::string_view kKey = "password=";
  for (std::size_t i = 0; i + kKey.size() <= dsn.size(); ++i) {
    bool match = true;
    for (std::size_t k = 0; k < kKey.size(); ++k) {
      if (lower(dsn[i + k]) != kKey[k]) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (i > 0 && dsn[i - 1] != '?' && dsn[i - 1] != '&' && dsn[i - 1] != ' ') continue;
    std::size_t start = i + kKey.size();
    std::size_t end = dsn.find_first_of("& ", start);
    add(dsn.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  }
  return found;
}

Output Context::output() const {
  return Output(parse_format(opts_.format).value_or(Format::kTable), *out_);
}

void Context::remember_secrets(const std::string& dsn) {
  if (dsn.empty()) return;
  raw_dsns_.push_back(dsn);
  for (auto& s : dsn_secrets(dsn)) secrets_.push_back(std::move(s));
}

std::string Context::scrub(std::string message) const {
  for (const auto& raw : raw_dsns_) {
    if (message.find(raw) != std::string::npos) {
      std::string redacted;
      try {
        redacted = redact_dsn(raw);
      } catch (...) {
        redacted = "<dsn>";
      }
      replace_all(message, raw, redacted);
    }
  }
  for (const auto& secret : secrets_) {
    if (secret.size() >= kMinSecretLength) replace_all(message, secret, "***");
  }
  return message;
}

Config Context::resolve_config() {
  // Explicit flags win over the environment. Config::load() validates what it reads, so a
  // variable the flag overrides must not be read at all (a stale PGQRS_DSN must not break
  // `--dsn good`): drop it from this process's environment first. The CLI is single-threaded
  // here, so touching the environment is safe.
  if (const char* env_dsn = std::getenv("PGQRS_DSN")) {  // NOLINT(concurrency-mt-unsafe)
    remember_secrets(env_dsn);
  }
  remember_secrets(opts_.dsn);
  if (!opts_.dsn.empty()) ::unsetenv("PGQRS_DSN");        // NOLINT(concurrency-mt-unsafe)
  if (!opts_.schema.empty()) ::unsetenv("PGQRS_SCHEMA");  // NOLINT(concurrency-mt-unsafe)

  std::optional<std::filesystem::path> file;
  if (!opts_.config_file.empty()) file = opts_.config_file;
  Config config = Config::load(file);
  remember_secrets(config.dsn);
  if (!opts_.dsn.empty()) config.dsn = opts_.dsn;
  if (!opts_.schema.empty()) config.schema = opts_.schema;
  if (config.dsn.empty()) {
    throw UsageError(
        "no DSN given. Name the database in one of these ways:\n"
        "  1. the --dsn option, e.g. pgqrs --dsn sqlite:///var/lib/app/queue.db queue list\n"
        "  2. the PGQRS_DSN environment variable\n"
        "  3. a config file with a 'dsn:' key: --config FILE, the file named by "
        "PGQRS_CONFIG_FILE, or ./pgqrs.yaml");
  }
  config.validate();
  return config;
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
