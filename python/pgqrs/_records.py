"""Records and enums returned by the API: plain, read-only values (they never refer back
to a store). Timestamps are ISO-8601 strings with offset; payloads plain JSON values."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "WorkerStatus",
    "WorkflowStatus",
    "StepResultStatus",
    "DurabilityMode",
    "SyncState",
    "QueueMessage",
    "QueueInfo",
    "WorkerInfo",
    "WorkflowRecord",
    "RunRecord",
    "StepRecord",
    "QueueMetrics",
    "SystemStats",
    "WorkerStats",
    "WorkerHealth",
    "SchemaInfo",
    "PollStats",
]


class _Printable(enum.Enum):
    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class WorkerStatus(_Printable):
    Ready = "ready"
    Polling = "polling"
    Suspended = "suspended"
    Interrupted = "interrupted"
    Stopped = "stopped"


class WorkflowStatus(_Printable):
    Queued = "QUEUED"
    Running = "RUNNING"
    Paused = "PAUSED"
    Cancelling = "CANCELLING"
    Cancelled = "CANCELLED"
    Success = "SUCCESS"
    Error = "ERROR"


class StepResultStatus(_Printable):
    Execute = "execute"
    Skipped = "skipped"


class DurabilityMode(_Printable):
    Durable = "durable"
    Local = "local"


class SyncState(_Printable):
    InSync = "InSync"
    LocalChanges = "LocalChanges"
    RemoteChanges = "RemoteChanges"
    ConcurrentChanges = "ConcurrentChanges"
    LocalMissing = "LocalMissing"
    RemoteMissingClean = "RemoteMissingClean"
    RemoteMissingDirty = "RemoteMissingDirty"


@dataclass(frozen=True)
class QueueMessage:
    id: int
    queue_id: int
    payload: Any
    vt: str
    enqueued_at: str
    read_ct: int
    dequeued_at: Optional[str]
    producer_worker_id: Optional[int]
    consumer_worker_id: Optional[int]
    archived_at: Optional[str]
    dead_at: Optional[str] = None
    priority: int = 0
    dedup_key: Optional[str] = None
    concurrency_key: Optional[str] = None
    # W3C trace context stored at enqueue (docs/observability.md "Tracing").
    traceparent: Optional[str] = None
    tracestate: Optional[str] = None


@dataclass(frozen=True)
class QueueInfo:
    id: int
    queue_name: str
    created_at: str
    # Flow control (docs/flow-control.md): None = unset; durations in seconds.
    concurrency: Optional[int] = None
    worker_concurrency: Optional[int] = None
    key_concurrency: Optional[int] = None
    rate_limit: Optional[tuple[int, float]] = None
    retain_archived: Optional[float] = None
    retain_dead: Optional[float] = None


@dataclass(frozen=True)
class WorkerInfo:
    id: int
    name: str
    status: WorkerStatus
    queue_id: Optional[int]
    heartbeat_at: str
    kind: str
    hostname: str
    pid: int
    started_at: str
    shutdown_at: Optional[str]


@dataclass(frozen=True)
class WorkflowRecord:
    id: int
    name: str
    queue_id: int
    created_at: str


@dataclass(frozen=True)
class RunRecord:
    id: int
    workflow_id: int
    message_id: Optional[int]
    status: WorkflowStatus
    input: Any
    output: Any
    error: Any
    created_at: str
    updated_at: str
    workflow_name: str


@dataclass(frozen=True)
class StepRecord:
    id: int
    run_id: int
    step_name: str
    status: WorkflowStatus
    input: Any
    output: Any
    error: Any
    retry_at: Optional[str]
    retry_count: int
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class QueueMetrics:
    queue_id: int
    queue_name: str
    pending: int
    delayed: int
    leased: int
    archived: int
    dead: int
    oldest_pending_age_seconds: Optional[float]


@dataclass(frozen=True)
class SystemStats:
    queues: int
    workers: int
    active_workers: int
    pending: int
    delayed: int
    leased: int
    archived: int
    dead: int
    schema_version: int
    backend: str


@dataclass(frozen=True)
class WorkerStats:
    queue_name: str
    total: int
    ready: int
    polling: int
    suspended: int
    interrupted: int
    stopped: int
    leased_messages: int


@dataclass(frozen=True)
class WorkerHealth:
    worker: WorkerInfo
    healthy: bool
    since_heartbeat_seconds: float


@dataclass(frozen=True)
class SchemaInfo:
    version: int
    expected_version: int


@dataclass(frozen=True)
class PollStats:
    """What a poll loop did: handler successes, failures, lost leases, handler calls, and
    why it stopped ("interrupted", "stop_requested", "deadline", "empty")."""

    processed: int
    failed: int
    lease_lost: int
    batches: int
    stop: str


# ---- from the native dicts (internal) ---------------------------------------------------


def message(d: dict) -> QueueMessage:
    return QueueMessage(**d)


def messages(ds: list) -> list[QueueMessage]:
    return [QueueMessage(**d) for d in ds]


def worker(d: dict) -> WorkerInfo:
    d = dict(d)
    d["status"] = WorkerStatus(d["status"])
    return WorkerInfo(**d)


def run(d: dict) -> RunRecord:
    d = dict(d)
    d["status"] = WorkflowStatus(d["status"])
    return RunRecord(**d)


def step(d: dict) -> StepRecord:
    d = dict(d)
    d["status"] = WorkflowStatus(d["status"])
    return StepRecord(**d)


def health(d: dict) -> WorkerHealth:
    d = dict(d)
    d["worker"] = worker(d["worker"])
    return WorkerHealth(**d)
