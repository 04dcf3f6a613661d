"""The pgqrs exception classes, one per kind of failure a caller can act on.

Every error the engine reports is a :class:`PgqrsError`; the native module maps each C++
error (include/pgqrs/error.h) to the class with the same ``code``. Instances carry
``code`` (a stable snake_case name) and ``retryable`` (whether repeating the same call
later may succeed). An exception raised by *your* handler is never wrapped: it reaches the
caller with its own type.
"""

from __future__ import annotations

import builtins

__all__ = [
    "PgqrsError",
    "PgqrsConnectionError",
    "StorageFullError",
    "QueueNotFoundError",
    "WorkerNotFoundError",
    "QueueAlreadyExistsError",
    "MessageNotFoundError",
    "SerializationError",
    "ConfigError",
    "RateLimitedError",
    "ValidationError",
    "TimeoutError",
    "InternalError",
    "StateTransitionError",
    "TransientStepError",
    "RetriesExhaustedError",
    "StepNotReadyError",
    "PausedError",
    "WorkflowCancelledError",
    "ExecutionFailedError",
    "ConflictError",
]


class PgqrsError(Exception):
    """Base class of every pgqrs error."""

    code: str = "pgqrs_error"
    retryable: bool = False


class PgqrsConnectionError(PgqrsError):
    """The database could not be reached or the connection broke.

    ``outcome_unknown`` is True when the connection was lost while a write was being
    committed: it may or may not have taken effect, so do not blindly redo it.
    """

    code = "connection"
    retryable = True
    outcome_unknown: bool = False


class StorageFullError(PgqrsError):
    """The disk holding a local database file (SQLite, Turso, the S3 cache) is full.

    The operation was rolled back; earlier commits are intact. Not retryable: free space on
    the filesystem the message names (or move the file), then retry.
    """

    code = "storage_full"


class QueueNotFoundError(PgqrsError):
    code = "queue_not_found"


class WorkerNotFoundError(PgqrsError):
    code = "worker_not_found"


class QueueAlreadyExistsError(PgqrsError):
    code = "queue_already_exists"


class MessageNotFoundError(PgqrsError):
    code = "message_not_found"


class SerializationError(PgqrsError):
    """A value is not plain JSON (payload, step output, run output)."""

    code = "serialization"


class ConfigError(PgqrsError):
    """A bad configuration value, DSN or file; the message names the field."""

    code = "config"


class RateLimitedError(PgqrsError):
    """Too many enqueues for the configured rate limit.

    ``retry_after`` (seconds) says when there is room again; None when the request can
    never fit (a batch larger than the burst).
    """

    code = "rate_limited"
    retry_after: float | None = None


class ValidationError(PgqrsError, builtins.ValueError):
    """Bad input: names, sizes, negative delays, unknown runs, illegal run states (also a
    builtins.ValueError, as in the original pgqrs)."""

    code = "validation"


class TimeoutError(PgqrsError, builtins.TimeoutError):  # noqa: A001 - the seed's name
    """An operation did not finish in time (also a builtins.TimeoutError)."""

    code = "timeout"
    retryable = True


class InternalError(PgqrsError):
    code = "internal"


class StateTransitionError(PgqrsError):
    """An illegal worker status change; the message names both states."""

    code = "state_transition"


class TransientStepError(PgqrsError):
    """Raise it from a workflow step to have the step retried under its retry policy.

    ``retry_after`` (seconds, optional) overrides the policy's backoff for this attempt.
    """

    code = "transient_step"
    retryable = True

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ExecutionFailedError(PgqrsError):
    """A run (or a step) ended in ERROR; the message carries the recorded error."""

    code = "execution_failed"


class RetriesExhaustedError(ExecutionFailedError):
    """A step failed for good (a permanent failure, or its retries are used up): raised by
    every later acquire of it. Also an ExecutionFailedError, so code written for either
    reading of the original's error catches it."""

    code = "retries_exhausted"


class StepNotReadyError(PgqrsError):
    """A step waits for its retry time; the worker gives the run back until then."""

    code = "step_not_ready"
    retryable = True


class PausedError(PgqrsError):
    """The run paused (pause / sleep); the worker gives it back until the wake time."""

    code = "paused"
    retryable = True


class WorkflowCancelledError(PgqrsError):
    code = "cancelled"


class ConflictError(PgqrsError):
    """Refused because of the current state (e.g. deleting a queue that has messages)."""

    code = "conflict"


def _by_code() -> dict[str, type[PgqrsError]]:
    out: dict[str, type[PgqrsError]] = {}
    for name in __all__:
        cls = globals()[name]
        out[cls.code] = cls
    return out


# Control-flow signals of the workflow engine: decorators let these through untouched.
ENGINE_SIGNALS = (
    TransientStepError,
    StepNotReadyError,
    RetriesExhaustedError,
    PausedError,
    WorkflowCancelledError,
)


class NotS3StoreError(ConfigError, builtins.TypeError):
    """as_s3() of a store that is not on the S3 backend (a ConfigError and a TypeError)."""
