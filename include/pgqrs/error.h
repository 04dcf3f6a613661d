// pgqrs error hierarchy.
//
// Every failure the library reports is an exception derived from pgqrs::Error (itself a
// std::runtime_error). Each subclass is one kind of failure a caller can act on; code()
// gives a stable machine-readable name and retryable() says whether repeating the same
// operation later may succeed (Abseil-style retry meaning):
//   - retryable() == true : transient (lock contention, rate limit, timeout before any
//     effect). Retrying the same call with backoff is safe.
//   - retryable() == false: retrying the same call gives the same answer until something
//     else changes (bad input, missing queue, illegal state transition, ...).
// ConnectionError additionally says whether the outcome of a write is unknown (the
// connection dropped during COMMIT); such an operation must never be blindly redone.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pgqrs {

enum class ErrorCode {
  kQueueNotFound,
  kQueueAlreadyExists,
  kWorkerNotFound,
  kMessageNotFound,
  kConfig,
  kValidation,
  kSerialization,
  kRateLimited,
  kStateTransition,
  kConnection,
  kStorageFull,
  kTimeout,
  kConflict,
  kTransientStep,
  kStepNotReady,
  kRetriesExhausted,
  kPaused,
  kCancelled,
  kExecutionFailed,
  kInternal,
};

// Stable snake_case name of an error code, e.g. "queue_not_found".
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, bool retryable = false)
      : std::runtime_error(message), code_(code), retryable_(retryable) {}
  ErrorCode code() const noexcept { return code_; }
  bool retryable() const noexcept { return retryable_; }

 private:
  ErrorCode code_;
  bool retryable_;
};

#define PGQRS_DEFINE_ERROR(Name, Code, Retryable)                                  \
  class Name : public Error {                                                      \
   public:                                                                         \
    explicit Name(const std::string& message) : Error(Code, message, Retryable) {} \
  };

PGQRS_DEFINE_ERROR(QueueNotFoundError, ErrorCode::kQueueNotFound, false)
PGQRS_DEFINE_ERROR(QueueAlreadyExistsError, ErrorCode::kQueueAlreadyExists, false)
PGQRS_DEFINE_ERROR(WorkerNotFoundError, ErrorCode::kWorkerNotFound, false)
PGQRS_DEFINE_ERROR(MessageNotFoundError, ErrorCode::kMessageNotFound, false)
PGQRS_DEFINE_ERROR(ConfigError, ErrorCode::kConfig, false)
PGQRS_DEFINE_ERROR(ValidationError, ErrorCode::kValidation, false)
PGQRS_DEFINE_ERROR(SerializationError, ErrorCode::kSerialization, false)
PGQRS_DEFINE_ERROR(StateTransitionError, ErrorCode::kStateTransition, false)
PGQRS_DEFINE_ERROR(TimeoutError, ErrorCode::kTimeout, true)
PGQRS_DEFINE_ERROR(StepNotReadyError, ErrorCode::kStepNotReady, true)
PGQRS_DEFINE_ERROR(RetriesExhaustedError, ErrorCode::kRetriesExhausted, false)
PGQRS_DEFINE_ERROR(PausedError, ErrorCode::kPaused, true)
PGQRS_DEFINE_ERROR(CancelledError, ErrorCode::kCancelled, false)
PGQRS_DEFINE_ERROR(ExecutionFailedError, ErrorCode::kExecutionFailed, false)
PGQRS_DEFINE_ERROR(InternalError, ErrorCode::kInternal, false)

#undef PGQRS_DEFINE_ERROR

// Too many enqueues for the configured rate limit. retry_after() says when the bucket has
// room again; absent when the request can never fit (a batch larger than the burst).
class RateLimitedError : public Error {
 public:
  RateLimitedError(const std::string& message, std::optional<std::chrono::milliseconds> retry_after)
      : Error(ErrorCode::kRateLimited, message, retry_after.has_value()),
        retry_after_(retry_after) {}
  std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }

 private:
  std::optional<std::chrono::milliseconds> retry_after_;
};

// The database could not be reached or the connection broke. When outcome_unknown() is
// true the connection was lost while a write was being committed: it may or may not have
// taken effect, and the library never retries it on its own.
// A state that forbids the operation (deleting a queue in use, a lost lease, a schema
// object in the way): retryable() false. Or a write refused because another writer changed
// the data first and NOT applied -- the S3 backend's conditional PUT answered 412 and the
// cache now holds the other writer's version: retryable() true, repeating the operation
// applies it on top (decision H20).
class ConflictError : public Error {
 public:
  explicit ConflictError(const std::string& message, bool retryable = false)
      : Error(ErrorCode::kConflict, message, retryable) {}
};

class ConnectionError : public Error {
 public:
  explicit ConnectionError(const std::string& message, bool outcome_unknown = false)
      : Error(ErrorCode::kConnection, message, !outcome_unknown),
        outcome_unknown_(outcome_unknown) {}
  bool outcome_unknown() const noexcept { return outcome_unknown_; }

 private:
  bool outcome_unknown_;
};

// The disk (or filesystem) holding a local database file is full: SQLite / Turso reported
// SQLITE_FULL / TURSO_DATABASE_FULL or a write failed with ENOSPC. The message names the
// file. The failed statement's transaction was rolled back: nothing of the operation took
// effect, and everything committed before stays intact. Not retryable: repeating the call
// fails the same way until space is freed on that filesystem (or the file is moved).
class StorageFullError : public Error {
 public:
  explicit StorageFullError(const std::string& message)
      : Error(ErrorCode::kStorageFull, message, false) {}
};

// Thrown by a workflow step to ask for a retry under the step's retry policy.
// retry_after, when set, overrides the policy's backoff for this attempt.
class TransientStepError : public Error {
 public:
  explicit TransientStepError(const std::string& message,
                              std::optional<std::chrono::milliseconds> retry_after = {})
      : Error(ErrorCode::kTransientStep, message, true), retry_after_(retry_after) {}
  std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }

 private:
  std::optional<std::chrono::milliseconds> retry_after_;
};

}  // namespace pgqrs
