// Workflow enums and the step backoff strategies.
#include <algorithm>
#include <array>
#include <random>
#include <utility>

#include "pgqrs/workflow.h"

namespace pgqrs {
namespace {

constexpr std::array<std::pair<WorkflowStatus, std::string_view>, 7> kNames{{
    {WorkflowStatus::kQueued, "QUEUED"},
    {WorkflowStatus::kRunning, "RUNNING"},
    {WorkflowStatus::kPaused, "PAUSED"},
    {WorkflowStatus::kCancelling, "CANCELLING"},
    {WorkflowStatus::kCancelled, "CANCELLED"},
    {WorkflowStatus::kSuccess, "SUCCESS"},
    {WorkflowStatus::kError, "ERROR"},
}};

}  // namespace

std::string_view to_string(WorkflowStatus s) noexcept {
  for (const auto& [value, name] : kNames) {
    if (value == s) return name;
  }
  return "UNKNOWN";
}

std::optional<WorkflowStatus> parse_workflow_status(std::string_view text) noexcept {
  for (const auto& [value, name] : kNames) {
    if (name == text) return value;
  }
  // Accept lower case too ("success"), as people type it in the CLI.
  for (const auto& [value, name] : kNames) {
    if (name.size() == text.size() &&
        std::equal(name.begin(), name.end(), text.begin(),
                   [](char a, char b) { return a == (b >= 'a' && b <= 'z' ? b - 32 : b); })) {
      return value;
    }
  }
  return std::nullopt;
}

bool is_terminal(WorkflowStatus s) noexcept {
  return s == WorkflowStatus::kSuccess || s == WorkflowStatus::kError ||
         s == WorkflowStatus::kCancelled;
}

BackoffStrategy BackoffStrategy::fixed(std::chrono::milliseconds delay) {
  return BackoffStrategy{Kind::kFixed, delay, delay};
}

BackoffStrategy BackoffStrategy::exponential(std::chrono::milliseconds base,
                                             std::chrono::milliseconds cap) {
  return BackoffStrategy{Kind::kExponential, base, cap};
}

BackoffStrategy BackoffStrategy::exponential_with_jitter(std::chrono::milliseconds base,
                                                         std::chrono::milliseconds cap) {
  return BackoffStrategy{Kind::kExponentialWithJitter, base, cap};
}

std::chrono::milliseconds BackoffStrategy::delay_for(std::uint32_t attempt) const {
  if (kind == Kind::kFixed) return base;
  const auto exponent = std::min<std::uint32_t>(attempt == 0 ? 0 : attempt - 1, 40);
  const double raw = static_cast<double>(base.count()) * static_cast<double>(1ULL << exponent);
  auto delay = static_cast<long long>(std::min(raw, static_cast<double>(cap.count())));
  if (kind == Kind::kExponentialWithJitter && delay > 1) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    delay = std::uniform_int_distribution<long long>(delay / 2, delay)(rng);
  }
  return std::chrono::milliseconds(delay);
}

bool is_engine_signal(const Error& e) noexcept {
  switch (e.code()) {
    case ErrorCode::kPaused:
    case ErrorCode::kStepNotReady:
    case ErrorCode::kCancelled:
    case ErrorCode::kRetriesExhausted:
    case ErrorCode::kConnection:
    case ErrorCode::kStorageFull:
    case ErrorCode::kTimeout:
      return true;
    case ErrorCode::kConflict:  // a write refused by a concurrent writer, not applied (H20)
      return e.retryable();
    default:
      return false;
  }
}

}  // namespace pgqrs
