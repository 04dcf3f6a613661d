// libFuzzer target: the YAML config file and the PGQRS_* environment values. The input is
// split at the first NUL byte: before it the file's text; after it, one byte choosing a
// PGQRS_* variable Config::load() reads and that variable's value. Contract: a Config or a
// ConfigError naming the key.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "pgqrs/config.h"

namespace {

// Every variable Config::load() reads (docs/configuration.md), PGQRS_CONFIG_FILE aside.
constexpr const char* kVariables[] = {
    "PGQRS_DSN",
    "PGQRS_SCHEMA",
    "PGQRS_MAX_CONNECTIONS",
    "PGQRS_CONNECTION_TIMEOUT",
    "PGQRS_DEFAULT_LOCK_TIME",
    "PGQRS_DEFAULT_BATCH_SIZE",
    "PGQRS_MAX_READ_CT",
    "PGQRS_HEARTBEAT_INTERVAL",
    "PGQRS_POLL_INTERVAL_MS",
    "PGQRS_VALIDATION_CONFIG",
    "PGQRS_SQLITE_USE_WAL",
    "PGQRS_S3_MODE",
    "PGQRS_S3_CACHE_DIR",
};
constexpr std::size_t kVariableCount = sizeof(kVariables) / sizeof(kVariables[0]);

const std::string& config_path() {
  static const std::string path = "/tmp/pgqrs-config-fuzz-" + std::to_string(getpid()) + ".yaml";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view yaml = input.substr(0, nul);
  const std::string_view env = nul == std::string_view::npos ? "" : input.substr(nul + 1);
  {
    std::ofstream file(config_path(), std::ios::binary | std::ios::trunc);
    file.write(yaml.data(), static_cast<std::streamsize>(yaml.size()));
  }
  for (const char* name : kVariables) unsetenv(name);
  if (!env.empty()) {
    const std::string value(env.substr(1));
    if (value.find('\0') == std::string::npos) {
      setenv(kVariables[static_cast<unsigned char>(env[0]) % kVariableCount], value.c_str(), 1);
    }
  }
  pgqrs::fuzz::expect_typed_errors(
      "config", [&] { (void)pgqrs::Config::load(std::filesystem::path(config_path())); });
  return 0;
}
