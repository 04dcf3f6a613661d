"""pgqrs: a library-only durable execution engine and job queue, native to asyncio.

The engine is the C++ library (native module ``pgqrs._pgqrs``); every call that touches
storage is a coroutine whose blocking part runs on a worker thread with the GIL released.
See docs/python.md.
"""

from __future__ import annotations

from . import _errors, _pgqrs
from ._clock import ManualClock
from ._config import Config
from ._dequeue import (DequeueBuilder, archive, archive_batch, consume, consume_batch, delete,
                       dequeue, enqueue, enqueue_batch, enqueue_delayed, extend_vt, produce,
                       produce_batch)
from ._errors import (ConfigError, ConflictError, ExecutionFailedError, InternalError,
                      MessageNotFoundError, PausedError, PgqrsConnectionError, PgqrsError,
                      QueueAlreadyExistsError, QueueNotFoundError, RateLimitedError,
                      RetriesExhaustedError, SerializationError, StateTransitionError,
                      StepNotReadyError, StorageFullError, TimeoutError, TransientStepError,
                      ValidationError, WorkerNotFoundError, WorkflowCancelledError)
from ._records import (DurabilityMode, PollStats, QueueInfo, QueueMessage, QueueMetrics,
                       RunRecord, SchemaInfo, StepRecord, StepResultStatus, SyncState,
                       SystemStats, WorkerHealth, WorkerInfo, WorkerStats, WorkerStatus,
                       WorkflowRecord, WorkflowStatus)
from ._otel import instrument_opentelemetry, uninstrument_opentelemetry
from ._s3 import S3StoreHandle, as_s3
from ._coordination import (ChildRun, child_runs, get_event, migrate_runs, read_stream,
                            run_events, run_messages, send, stranded_runs)
from ._fork import fork, rerun, rerun_matching
from ._schedule import (ScheduleBuilder, ScheduleRecord, fire_due_schedules, get_schedule,
                        list_schedules, pause_schedule, prune, remove_schedule,
                        resume_schedule, schedule, set_workflow_retention)
from ._store import (Admin, ConsumeIterator, Messages, Queues, Store, WorkflowRuns,
                     WorkflowSteps, Workers, Workflows, admin, connect, connect_with)
from ._workers import Consumer, Producer
from ._workflow import (BackoffStrategy, Run, RunBuilder, StepBuilder, StepGuard, StepResult,
                        StepRetryPolicy, WorkflowBuilder, WorkflowDef, run, step, workflow)
from . import decorators

_pgqrs._register_errors(_errors._by_code())

__version__ = "0.1.0"

__all__ = [
    # connecting
    "connect", "connect_with", "Config", "Store", "admin", "Admin", "ManualClock",
    # workers and queues
    "Producer", "Consumer", "ConsumeIterator", "DequeueBuilder", "dequeue", "produce",
    "produce_batch", "consume", "consume_batch", "enqueue", "enqueue_batch",
    "enqueue_delayed", "archive", "archive_batch", "delete", "extend_vt",
    # record tables
    "Workers", "Queues", "Messages", "Workflows", "WorkflowRuns", "WorkflowSteps",
    # workflows
    "workflow", "run", "step", "WorkflowBuilder", "RunBuilder", "StepBuilder", "Run",
    "StepResult", "StepGuard", "StepRetryPolicy", "BackoffStrategy", "WorkflowDef",
    "decorators",
    # S3
    "as_s3", "S3StoreHandle",
    # tracing (docs/observability.md)
    "instrument_opentelemetry", "uninstrument_opentelemetry",
    # fork and rerun
    "fork", "rerun", "rerun_matching",
    # workflows that talk
    "send", "get_event", "read_stream", "run_messages", "run_events", "child_runs",
    "ChildRun", "stranded_runs", "migrate_runs",
    # schedules and retention
    "schedule", "ScheduleBuilder", "ScheduleRecord", "list_schedules", "get_schedule",
    "pause_schedule", "resume_schedule", "remove_schedule", "fire_due_schedules", "prune",
    "set_workflow_retention",
    # records and enums
    "QueueMessage", "QueueInfo", "WorkerInfo", "WorkflowRecord", "RunRecord", "StepRecord",
    "QueueMetrics", "SystemStats", "WorkerStats", "WorkerHealth", "SchemaInfo", "PollStats",
    "WorkerStatus", "WorkflowStatus", "StepResultStatus", "DurabilityMode", "SyncState",
    # errors
    "PgqrsError", "PgqrsConnectionError", "QueueNotFoundError", "WorkerNotFoundError",
    "QueueAlreadyExistsError", "MessageNotFoundError", "SerializationError", "ConfigError",
    "RateLimitedError", "ValidationError", "TimeoutError", "InternalError",
    "StateTransitionError", "TransientStepError", "RetriesExhaustedError",
    "StepNotReadyError", "PausedError", "WorkflowCancelledError", "ExecutionFailedError",
    "ConflictError", "StorageFullError",
]
