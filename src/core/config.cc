// Config loading and validation (SPEC §1). Each scalar field is described once in
// kScalarFields (YAML key, env var, bounds), and every source (YAML file, env) goes through
// the same setters, so a field cannot be read one way from YAML and another from env.
#include "pgqrs/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string_view>

#include "backend/dsn.h"
#include "core/config_check.h"
#include "pgqrs/error.h"

namespace pgqrs {
namespace {

struct ScalarField {
  const char* key;  // YAML key
  const char* env;  // environment variable
  std::uint32_t Config::*member;
  std::uint32_t min;
  std::uint32_t max;
};

constexpr ScalarField kScalarFields[] = {
    {"max_connections", "PGQRS_MAX_CONNECTIONS", &Config::max_connections, 1, 1000},
    {"connection_timeout_seconds", "PGQRS_CONNECTION_TIMEOUT", &Config::connection_timeout_seconds,
     1, 3600},
    {"connect_timeout_seconds", "PGQRS_CONNECT_TIMEOUT", &Config::connect_timeout_seconds, 0, 3600},
    {"statement_timeout_seconds", "PGQRS_STATEMENT_TIMEOUT", &Config::statement_timeout_seconds, 0,
     3600},
    {"default_lock_time_seconds", "PGQRS_DEFAULT_LOCK_TIME", &Config::default_lock_time_seconds, 1,
     7 * 24 * 3600},
    {"default_max_batch_size", "PGQRS_DEFAULT_BATCH_SIZE", &Config::default_max_batch_size, 1,
     10000},
    {"max_read_ct", "PGQRS_MAX_READ_CT", &Config::max_read_ct, 1, 1000000},
    {"heartbeat_interval_seconds", "PGQRS_HEARTBEAT_INTERVAL", &Config::heartbeat_interval_seconds,
     1, 24 * 3600},
    {"poll_interval_ms", "PGQRS_POLL_INTERVAL_MS", &Config::poll_interval_ms, 1, 3600 * 1000},
};

[[noreturn]] void bad_value(const std::string& field, const std::string& value,
                            const std::string& source, const std::string& why) {
  throw ConfigError("invalid value '" + value + "' for " + field + " (from " + source +
                    "): " + why);
}

std::uint64_t parse_unsigned(const std::string& field, const std::string& text,
                             const std::string& source) {
  std::uint64_t out = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (text.empty() || ec != std::errc() || ptr != end) {
    bad_value(field, text, source, "expected a non-negative integer");
  }
  return out;
}

double parse_double(const std::string& field, const std::string& text, const std::string& source) {
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  double out = 0;
  in >> out;
  if (text.empty() || in.fail() || !in.eof() || !std::isfinite(out)) {
    bad_value(field, text, source, "expected a finite number");
  }
  return out;
}

bool parse_bool(const std::string& field, const std::string& text, const std::string& source) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  bad_value(field, text, source, "expected true or false");
}

DurabilityMode parse_mode(const std::string& field, const std::string& text,
                          const std::string& source) {
  if (text == "durable") return DurabilityMode::kDurable;
  if (text == "local") return DurabilityMode::kLocal;
  bad_value(field, text, source, "expected durable or local");
}

void set_scalar(Config& c, const ScalarField& f, const std::string& text,
                const std::string& source) {
  std::uint64_t v = parse_unsigned(f.key, text, source);
  if (v < f.min || v > f.max) {
    bad_value(f.key, text, source,
              "must be between " + std::to_string(f.min) + " and " + std::to_string(f.max));
  }
  c.*f.member = static_cast<std::uint32_t>(v);
}

// ---- validation sub-config, shared by YAML (`validation:` map) and PGQRS_VALIDATION_CONFIG
// (a JSON object with the same keys). Values arrive as text or as a list of texts.
using Setter = std::function<void(ValidationConfig&, const std::string& text,
                                  const std::vector<std::string>* list, const std::string&)>;

const std::vector<std::pair<std::string, Setter>>& validation_setters() {
  static const std::vector<std::pair<std::string, Setter>> setters = {
      {"max_payload_size_bytes",
       [](ValidationConfig& v, const std::string& t, auto*, const std::string& src) {
         v.max_payload_size_bytes = parse_unsigned("validation.max_payload_size_bytes", t, src);
       }},
      {"max_string_length",
       [](ValidationConfig& v, const std::string& t, auto*, const std::string& src) {
         v.max_string_length = parse_unsigned("validation.max_string_length", t, src);
       }},
      {"max_object_depth",
       [](ValidationConfig& v, const std::string& t, auto*, const std::string& src) {
         v.max_object_depth = parse_unsigned("validation.max_object_depth", t, src);
       }},
      {"max_enqueue_per_second",
       [](ValidationConfig& v, const std::string& t, auto*, const std::string& src) {
         if (t == "null" || t.empty()) {
           v.max_enqueue_per_second.reset();
           return;
         }
         v.max_enqueue_per_second = parse_double("validation.max_enqueue_per_second", t, src);
       }},
      {"max_enqueue_burst",
       [](ValidationConfig& v, const std::string& t, auto*, const std::string& src) {
         if (t == "null" || t.empty()) {
           v.max_enqueue_burst.reset();
           return;
         }
         auto n = parse_unsigned("validation.max_enqueue_burst", t, src);
         if (n > std::numeric_limits<std::uint32_t>::max()) {
           bad_value("validation.max_enqueue_burst", t, src, "too large");
         }
         v.max_enqueue_burst = static_cast<std::uint32_t>(n);
       }},
      {"forbidden_keys",
       [](ValidationConfig& v, const std::string& t, const std::vector<std::string>* list,
          const std::string& src) {
         if (!list) bad_value("validation.forbidden_keys", t, src, "expected a list of strings");
         v.forbidden_keys = *list;
       }},
      {"required_keys",
       [](ValidationConfig& v, const std::string& t, const std::vector<std::string>* list,
          const std::string& src) {
         if (!list) bad_value("validation.required_keys", t, src, "expected a list of strings");
         v.required_keys = *list;
       }},
  };
  return setters;
}

void set_validation_field(ValidationConfig& v, const std::string& key, const std::string& text,
                          const std::vector<std::string>* list, const std::string& source) {
  for (const auto& [name, setter] : validation_setters()) {
    if (name == key) {
      setter(v, text, list, source);
      return;
    }
  }
  throw ConfigError("unknown key 'validation." + key + "' in " + source);
}

void apply_validation_json(ValidationConfig& v, const std::string& text,
                           const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (1e999)
    bad_value("validation", text, source, std::string("malformed JSON: ") + e.what());
  }
  if (!j.is_object()) bad_value("validation", text, source, "expected a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (value.is_array()) {
      std::vector<std::string> list;
      for (const auto& item : value) {
        if (!item.is_string()) {
          bad_value("validation." + key, value.dump(), source, "expected a list of strings");
        }
        list.push_back(item.get<std::string>());
      }
      set_validation_field(v, key, value.dump(), &list, source);
    } else if (value.is_string()) {
      set_validation_field(v, key, value.get<std::string>(), nullptr, source);
    } else {
      set_validation_field(v, key, value.dump(), nullptr, source);
    }
  }
}

// ---- YAML --------------------------------------------------------------------------------
std::string scalar_text(const YAML::Node& node, const std::string& field,
                        const std::string& source) {
  if (!node.IsScalar()) bad_value(field, YAML::Dump(node), source, "expected a single value");
  return node.Scalar();
}

void apply_yaml(Config& c, const std::filesystem::path& path) {
  const std::string source = path.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    throw ConfigError("cannot read config file '" + source + "'");
  } catch (const YAML::Exception& e) {
    throw ConfigError("malformed config file '" + source + "': " + e.what());
  }
  if (root.IsNull()) return;  // empty file
  if (!root.IsMap()) throw ConfigError("config file '" + source + "' must be a YAML mapping");
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (key == "dsn") {
      c.dsn = scalar_text(value, key, source);
    } else if (key == "schema") {
      c.schema = scalar_text(value, key, source);
    } else if (key == "app_version") {
      c.app_version = scalar_text(value, key, source);
    } else if (key == "validation") {
      if (!value.IsMap()) bad_value(key, YAML::Dump(value), source, "expected a mapping");
      for (const auto& v : value) {
        const std::string vkey = v.first.as<std::string>();
        if (v.second.IsSequence()) {
          std::vector<std::string> list;
          for (const auto& item : v.second) list.push_back(scalar_text(item, vkey, source));
          set_validation_field(c.validation, vkey, YAML::Dump(v.second), &list, source);
        } else {
          set_validation_field(c.validation, vkey,
                               v.second.IsNull() ? "" : scalar_text(v.second, vkey, source),
                               nullptr, source);
        }
      }
    } else if (key == "sqlite") {
      if (!value.IsMap()) bad_value(key, YAML::Dump(value), source, "expected a mapping");
      for (const auto& v : value) {
        const std::string vkey = v.first.as<std::string>();
        if (vkey != "use_wal") throw ConfigError("unknown key 'sqlite." + vkey + "' in " + source);
        c.sqlite.use_wal =
            parse_bool("sqlite.use_wal", scalar_text(v.second, vkey, source), source);
      }
    } else if (key == "s3") {
      if (!value.IsMap()) bad_value(key, YAML::Dump(value), source, "expected a mapping");
      for (const auto& v : value) {
        const std::string vkey = v.first.as<std::string>();
        if (vkey == "mode") {
          c.s3.mode = parse_mode("s3.mode", scalar_text(v.second, vkey, source), source);
        } else if (vkey == "cache_dir") {
          c.s3.cache_dir = scalar_text(v.second, vkey, source);
          if (c.s3.cache_dir.empty()) {
            bad_value("s3.cache_dir", "", source, "cache dir cannot be empty");
          }
        } else {
          throw ConfigError("unknown key 's3." + vkey + "' in " + source);
        }
      }
    } else {
      bool found = false;
      for (const auto& f : kScalarFields) {
        if (key == f.key) {
          set_scalar(c, f, scalar_text(value, key, source), source);
          found = true;
        }
      }
      if (!found) throw ConfigError("unknown key '" + key + "' in config file '" + source + "'");
    }
  }
}

// ---- environment -------------------------------------------------------------------------
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v;  // empty strings are values too (and usually errors)
}

void apply_env(Config& c) {
  if (const char* v = env("PGQRS_DSN")) c.dsn = v;
  if (const char* v = env("PGQRS_SCHEMA")) c.schema = v;
  if (const char* v = env("PGQRS_APP_VERSION")) c.app_version = v;
  for (const auto& f : kScalarFields) {
    if (const char* v = env(f.env)) set_scalar(c, f, v, std::string("env ") + f.env);
  }
  if (const char* v = env("PGQRS_VALIDATION_CONFIG")) {
    apply_validation_json(c.validation, v, "env PGQRS_VALIDATION_CONFIG");
  }
  if (const char* v = env("PGQRS_SQLITE_USE_WAL")) {
    c.sqlite.use_wal = parse_bool("sqlite.use_wal", v, "env PGQRS_SQLITE_USE_WAL");
  }
  if (const char* v = env("PGQRS_S3_MODE")) {
    c.s3.mode = parse_mode("s3.mode", v, "env PGQRS_S3_MODE");
  }
  if (const char* v = env("PGQRS_S3_CACHE_DIR")) {
    if (*v == '\0')
      bad_value("s3.cache_dir", "", "env PGQRS_S3_CACHE_DIR", "cache dir cannot be empty");
    c.s3.cache_dir = v;
  }
}

}  // namespace

Config Config::from_dsn(std::string dsn) {
  Config c;
  c.dsn = std::move(dsn);
  return c;
}

Config Config::load(const std::optional<std::filesystem::path>& file,
                    const ConfigOverrides& overrides) {
  Config c;
  for (const char* name : {"pgqrs.yaml", "pgqrs.yml"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(name, ec)) {
      apply_yaml(c, name);
      break;
    }
  }
  apply_env(c);
  std::optional<std::filesystem::path> explicit_file = file;
  if (!explicit_file) {
    if (const char* v = env("PGQRS_CONFIG_FILE")) {
      if (*v == '\0') throw ConfigError("PGQRS_CONFIG_FILE is set but empty");
      explicit_file = v;
    }
  }
  if (explicit_file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*explicit_file, ec)) {
      throw ConfigError("config file '" + explicit_file->string() + "' does not exist");
    }
    apply_yaml(c, *explicit_file);
  }
  if (overrides.dsn) c.dsn = *overrides.dsn;
  if (overrides.schema) c.schema = *overrides.schema;
  // Everything but the dsn: callers may still replace it, and connecting parses the final
  // one (once: backend::Dsn::parse in connect_with_config).
  core::validate_settings(c);
  return c;
}

void Config::validate() const {
  backend::Dsn::parse(dsn);  // throws ConfigError for an empty or malformed dsn
  core::validate_settings(*this);
}

void core::validate_settings(const Config& c) {
  const auto& schema = c.schema;
  const auto& validation = c.validation;
  static const std::regex kIdentifier("[A-Za-z_][A-Za-z0-9_]{0,62}");
  if (!std::regex_match(schema, kIdentifier)) {
    bad_value("schema", schema, "config",
              "expected an identifier of 1-63 letters, digits or '_' not starting with a digit");
  }
  static const std::regex kVersion("[A-Za-z0-9_.:+-]{0,128}");
  if (!std::regex_match(c.app_version, kVersion)) {
    bad_value("app_version", c.app_version, "config",
              "expected at most 128 characters of letters, digits and _ . : + -");
  }
  for (const auto& f : kScalarFields) {
    std::uint32_t v = c.*f.member;
    if (v < f.min || v > f.max) {
      bad_value(f.key, std::to_string(v), "config",
                "must be between " + std::to_string(f.min) + " and " + std::to_string(f.max));
    }
  }
  if (validation.max_payload_size_bytes == 0) {
    bad_value("validation.max_payload_size_bytes", "0", "config", "must be positive");
  }
  if (validation.max_object_depth == 0) {
    bad_value("validation.max_object_depth", "0", "config", "must be positive");
  }
  if (validation.max_string_length == 0) {
    bad_value("validation.max_string_length", "0", "config", "must be positive");
  }
  if (validation.max_enqueue_per_second) {
    double r = *validation.max_enqueue_per_second;
    if (!std::isfinite(r) || r <= 0) {
      bad_value("validation.max_enqueue_per_second", std::to_string(r), "config",
                "must be a positive number");
    }
  }
  if (validation.max_enqueue_burst && *validation.max_enqueue_burst == 0) {
    bad_value("validation.max_enqueue_burst", "0", "config", "must be at least 1");
  }
  if (validation.max_enqueue_burst && !validation.max_enqueue_per_second) {
    bad_value("validation.max_enqueue_burst", std::to_string(*validation.max_enqueue_burst),
              "config", "needs validation.max_enqueue_per_second to be set");
  }
}

std::string redact_dsn(const std::string& dsn) { return backend::redact_dsn_text(dsn); }

std::string scrub_dsn(std::string message, std::string_view dsn) {
  if (dsn.empty()) return message;
  const std::string redacted = backend::redact_dsn_text(dsn);
  for (auto pos = message.find(dsn); pos != std::string::npos;
       pos = message.find(dsn, pos + redacted.size())) {
    message.replace(pos, dsn.size(), redacted);
  }
  constexpr std::size_t kMinSecretLength = 3;  // shorter ones would mangle every message
  return backend::scrub_secrets(std::move(message), backend::dsn_secrets(dsn), kMinSecretLength);
}

}  // namespace pgqrs
