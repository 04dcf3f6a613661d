#include "pgqrs/records.h"

#include <array>
#include <utility>

namespace pgqrs {
namespace {

constexpr std::array<std::pair<WorkerStatus, std::string_view>, 5> kStatusNames{{
    {WorkerStatus::kReady, "ready"},
    {WorkerStatus::kPolling, "polling"},
    {WorkerStatus::kSuspended, "suspended"},
    {WorkerStatus::kInterrupted, "interrupted"},
    {WorkerStatus::kStopped, "stopped"},
}};

constexpr std::array<std::pair<WorkerKind, std::string_view>, 3> kKindNames{{
    {WorkerKind::kProducer, "producer"},
    {WorkerKind::kConsumer, "consumer"},
    {WorkerKind::kAdmin, "admin"},
}};

}  // namespace

std::string_view to_string(WorkerStatus s) noexcept {
  for (const auto& [value, name] : kStatusNames) {
    if (value == s) return name;
  }
  return "unknown";
}

std::string_view to_string(WorkerKind k) noexcept {
  for (const auto& [value, name] : kKindNames) {
    if (value == k) return name;
  }
  return "unknown";
}

std::optional<WorkerStatus> parse_worker_status(std::string_view text) noexcept {
  for (const auto& [value, name] : kStatusNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::optional<WorkerKind> parse_worker_kind(std::string_view text) noexcept {
  for (const auto& [value, name] : kKindNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace pgqrs
