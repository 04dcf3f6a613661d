// Validation of the flow-control options (pgqrs/queue_options.h). Every error names the
// field, so a caller (C++, Python, CLI) can point at the bad argument.
#include "pgqrs/queue_options.h"

#include <chrono>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs {
namespace {

constexpr std::size_t kMaxKeyBytes = 255;

std::string us_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) + " us";
}

void at_least_one(const std::optional<std::int64_t>& value, const char* field) {
  if (value && *value < 1) {
    throw ValidationError(std::string(field) + " must be at least 1 (got " +
                          std::to_string(*value) + ")");
  }
}

void not_negative(const std::optional<Duration>& value, const char* field) {
  if (value && *value < Duration::zero()) {
    throw ValidationError(std::string(field) + " must not be negative (got " + us_text(*value) +
                          ")");
  }
}

void key_ok(const std::optional<std::string>& key, const char* field, const std::string& where) {
  if (!key) return;
  const std::string prefix = where.empty() ? std::string(field) : where + ": " + field;
  if (key->empty()) throw ValidationError(prefix + " must not be empty");
  if (key->size() > kMaxKeyBytes) {
    throw ValidationError(prefix + " is " + std::to_string(key->size()) + " bytes (at most " +
                          std::to_string(kMaxKeyBytes) + ")");
  }
}

}  // namespace

void validate(const QueueOptions& o) {
  at_least_one(o.concurrency, "concurrency");
  at_least_one(o.worker_concurrency, "worker_concurrency");
  at_least_one(o.key_concurrency, "key_concurrency");
  if (o.rate_limit) {
    if (o.rate_limit->count < 1) {
      throw ValidationError("rate_limit count must be at least 1 (got " +
                            std::to_string(o.rate_limit->count) + ")");
    }
    if (o.rate_limit->period < std::chrono::milliseconds(1)) {
      throw ValidationError("rate_limit period must be at least 1 ms (got " +
                            us_text(o.rate_limit->period) + ")");
    }
  }
  not_negative(o.retain_archived, "retain_archived");
  not_negative(o.retain_dead, "retain_dead");
}

void validate(const MessageOptions& o, const std::string& where) {
  key_ok(o.dedup_key, "dedup_key", where);
  key_ok(o.concurrency_key, "concurrency_key", where);
}

}  // namespace pgqrs
