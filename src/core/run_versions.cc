// Safe upgrades, the version half (pgqrs/versions.h): stranded runs and their migration.
#include <regex>

#include "core/store_state.h"
#include "pgqrs/versions.h"

namespace pgqrs {
namespace {

void validate_version(std::string_view v, std::string_view what) {
  static const std::regex kVersion("[A-Za-z0-9_.:+-]{0,128}");
  if (!std::regex_match(v.begin(), v.end(), kVersion)) {
    throw ValidationError(std::string(what) + " '" + std::string(v) +
                          "' is not an app version: at most 128 characters of letters, "
                          "digits and _ . : + -");
  }
}

}  // namespace

std::vector<StrandedRun> stranded_runs(const Store& store, std::chrono::seconds heartbeat_timeout,
                                       std::uint32_t limit) {
  auto& s = *StoreAccess::state(store);
  return s.backend->stranded_runs(s.now() - heartbeat_timeout, limit);
}

std::uint64_t migrate_runs(const Store& store, std::string_view to,
                           const std::optional<std::string>& from,
                           const std::optional<std::string>& workflow) {
  validate_version(to, "--to version");
  if (from) validate_version(*from, "--from version");
  auto& s = *StoreAccess::state(store);
  std::optional<std::string> target;
  if (!to.empty()) target = std::string(to);
  return s.backend->migrate_runs(from, target, workflow, s.now());
}

}  // namespace pgqrs
