"""connect(), Store, Admin, the record table handles and consume_iter (SPEC §1-§4)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Optional

from . import _aio, _flow, _pgqrs
from . import _records as rec
from ._clock import ManualClock
from ._config import Config
from ._errors import PgqrsError, ValidationError
from ._records import (QueueInfo, QueueMessage, QueueMetrics, RunRecord, SchemaInfo,
                       StepRecord, SystemStats, WorkerHealth, WorkerInfo, WorkerStats,
                       WorkflowRecord, WorkflowStatus)
from ._time import TimeLike, to_micros
from ._time import seconds as _secs
from ._workers import Consumer, Producer

if TYPE_CHECKING:
    from ._workflow import Run

__all__ = ["connect", "connect_with", "admin", "Store", "Admin", "Workers", "Queues",
           "Messages", "Workflows", "WorkflowRuns", "WorkflowSteps", "ConsumeIterator"]

_ALL = 2**32 - 1  # "no limit" for the record listings


async def connect(dsn: str, clock: Optional[ManualClock] = None) -> "Store":
    """A store for ``dsn`` with defaults and PGQRS_* environment applied. Does not install
    the schema (see Admin.install). ``clock``: a ManualClock for tests (default: real
    time)."""
    if clock is None:
        return Store(await _aio.call(_pgqrs.connect, dsn))
    native_clock = _native_clock(clock)
    return Store(await _aio.call(_pgqrs.connect_on_clock, dsn, native_clock), clock)


async def connect_with(config: Config, clock: Optional[ManualClock] = None) -> "Store":
    """A store for a complete Config (validated here: ConfigError names a bad field).
    ``clock``: a ManualClock for tests (default: real time)."""
    native = config._native.copy()
    if clock is None:
        return Store(await _aio.call(_pgqrs.connect_with, native))
    native_clock = _native_clock(clock)
    return Store(await _aio.call(_pgqrs.connect_with_on_clock, native, native_clock), clock)


def _native_clock(clock: Any) -> Any:
    if not isinstance(clock, ManualClock):
        raise ValidationError(f"clock: expected a pgqrs.ManualClock or None, got {clock!r}")
    return clock._native


def admin(store: "Store") -> "Admin":
    return Admin(store)


class Store:
    """A handle to one pgqrs database. Cheap to share between tasks and threads."""

    def __init__(self, native: Any, clock: Optional[ManualClock] = None) -> None:
        self._native = native
        self._clock = clock  # the ManualClock it was connected on, if any

    @property
    def backend(self) -> str:
        """"sqlite", "postgres", "turso" or "s3"."""
        return self._native.backend_name()

    @property
    def config(self) -> Config:
        """A copy of the configuration this store was opened with."""
        return Config._wrap(self._native.config())

    async def queue(self, name: str, *, concurrency: Optional[int] = None,
                    worker_concurrency: Optional[int] = None,
                    key_concurrency: Optional[int] = None,
                    rate_limit: Optional[tuple[int, float]] = None,
                    retain_archived: Optional[float] = None,
                    retain_dead: Optional[float] = None) -> QueueInfo:
        """Creates queue ``name``; QueueAlreadyExistsError if it exists. Flow-control options
        (docs/flow-control.md), None = unset: concurrency, worker_concurrency,
        key_concurrency, rate_limit=(count, seconds), retain_archived=seconds,
        retain_dead=seconds."""
        changes = _flow.option_changes(
            dict(concurrency=concurrency, worker_concurrency=worker_concurrency,
                 key_concurrency=key_concurrency, rate_limit=rate_limit,
                 retain_archived=retain_archived, retain_dead=retain_dead), skip_none=True)
        if not changes:
            return QueueInfo(**await _aio.call(self._native.queue, name))
        return QueueInfo(**await _aio.call(_pgqrs.create_queue_with_options, self._native, name,
                                           changes))

    async def update_queue(self, name: str, **changes: Any) -> QueueInfo:
        """Changes the given options of queue ``name`` atomically (None removes one); the
        others are kept."""
        return QueueInfo(**await _aio.call(_pgqrs.update_queue_options, self._native, name,
                                           _flow.option_changes(changes, skip_none=False)))

    async def producer(self, queue: str) -> Producer:
        return Producer(await _aio.call(self._native.producer, queue))

    async def consumer(self, queue: str) -> Consumer:
        return Consumer(await _aio.call(self._native.consumer, queue))

    def consume_iter(self, queue: str, poll_interval_ms: Optional[int] = None) -> "ConsumeIterator":
        return ConsumeIterator(self, queue, poll_interval_ms)

    async def bootstrap(self) -> None:
        """Creates or upgrades the schema (Admin.install); for S3 it creates the object."""
        await Admin(self).install()

    async def get_workers(self) -> "Workers":
        return Workers(self)

    async def get_queues(self) -> "Queues":
        return Queues(self)

    async def get_messages(self) -> "Messages":
        return Messages(self)

    async def get_workflows(self) -> "Workflows":
        return Workflows(self)

    async def get_workflow_runs(self) -> "WorkflowRuns":
        return WorkflowRuns(self)

    async def get_workflow_steps(self) -> "WorkflowSteps":
        return WorkflowSteps(self)

    def __repr__(self) -> str:
        return f"Store(backend={self.backend!r})"


class Admin:
    """Schema, queues, dead letters, workers, metrics and workflow records."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._native = _pgqrs.Admin(store._native)

    async def install(self) -> None:
        await _aio.call(self._native.install)

    async def verify(self) -> SchemaInfo:
        return SchemaInfo(**await _aio.call(self._native.verify))

    async def uninstall(self) -> None:
        await _aio.call(self._native.uninstall)

    async def create_queue(self, name: str) -> QueueInfo:
        return QueueInfo(**await _aio.call(self._native.create_queue, name))

    async def get_queue(self, name: str) -> QueueInfo:
        return QueueInfo(**await _aio.call(self._native.get_queue, name))

    async def list_queues(self) -> list[QueueInfo]:
        return [QueueInfo(**d) for d in await _aio.call(self._native.list_queues)]

    async def delete_queue(self, name: str) -> None:
        await _aio.call(self._native.delete_queue, name)

    async def purge_queue(self, name: str) -> int:
        return await _aio.call(self._native.purge_queue, name)

    async def list_messages(self, queue: str, limit: int = 100, include_archived: bool = False,
                            before_id: Optional[int] = None) -> list[QueueMessage]:
        """Newest first; `before_id` pages: only ids below it (pass the last id of a page)."""
        return rec.messages(await _aio.call(self._native.list_messages, queue, limit,
                                            include_archived, before_id))

    async def get_message(self, id: int) -> QueueMessage:
        return rec.message(await _aio.call(self._native.get_message, int(id)))

    async def dlq(self, queue: Optional[str] = None, limit: Optional[int] = None,
                  before_id: Optional[int] = None) -> list[QueueMessage]:
        """Dead letters, newest first: all, or at most `limit`; `before_id` pages."""
        return rec.messages(await _aio.call(self._native.dlq, queue, limit, before_id))

    async def replay_dlq(self, id: int) -> bool:
        return await _aio.call(self._native.replay_dlq, int(id))

    async def queue_metrics(self, name: str) -> QueueMetrics:
        return QueueMetrics(**await _aio.call(self._native.queue_metrics, name))

    async def all_queues_metrics(self) -> list[QueueMetrics]:
        return [QueueMetrics(**d) for d in await _aio.call(self._native.all_queues_metrics)]

    async def system_stats(self) -> SystemStats:
        return SystemStats(**await _aio.call(self._native.system_stats))

    async def list_workers(self, queue: Optional[str] = None) -> list[WorkerInfo]:
        return [rec.worker(d) for d in await _aio.call(self._native.list_workers, queue)]

    async def get_worker(self, id: int) -> WorkerInfo:
        return rec.worker(await _aio.call(self._native.get_worker, int(id)))

    async def worker_messages(self, worker_id: int) -> list[QueueMessage]:
        return rec.messages(await _aio.call(self._native.worker_messages, int(worker_id)))

    async def release_worker_messages(self, worker_id: int) -> int:
        return await _aio.call(self._native.release_worker_messages, int(worker_id))

    async def suspend_worker(self, id: int) -> WorkerInfo:
        return rec.worker(await _aio.call(self._native.suspend_worker, int(id)))

    async def resume_worker(self, id: int) -> WorkerInfo:
        return rec.worker(await _aio.call(self._native.resume_worker, int(id)))

    async def shutdown_worker(self, id: int) -> WorkerInfo:
        return rec.worker(await _aio.call(self._native.shutdown_worker, int(id)))

    async def heartbeat_worker(self, id: int) -> WorkerInfo:
        return rec.worker(await _aio.call(self._native.heartbeat_worker, int(id)))

    async def delete_worker(self, id: int) -> None:
        await _aio.call(self._native.delete_worker, int(id))

    async def worker_stats(self, queue: str) -> WorkerStats:
        return WorkerStats(**await _aio.call(self._native.worker_stats, queue))

    async def worker_health(self, timeout_seconds: float = 60) -> list[WorkerHealth]:
        return [rec.health(d) for d in
                await _aio.call(self._native.worker_health, _secs(timeout_seconds, "timeout_seconds"))]

    async def reclaim_messages(self, queue: str, older_than_seconds: Optional[float] = None) -> int:
        older = 60 if older_than_seconds is None else _secs(older_than_seconds, "older_than_seconds")
        return await _aio.call(self._native.reclaim_messages, queue, older)

    async def purge_old_workers(self, older_than_seconds: float) -> int:
        return await _aio.call(self._native.purge_old_workers,
                               _secs(older_than_seconds, "older_than_seconds"))

    async def list_workflows(self) -> list[WorkflowRecord]:
        return [WorkflowRecord(**d) for d in await _aio.call(self._native.list_workflows)]

    async def list_runs(self, workflow: Optional[str] = None,
                        status: Optional[WorkflowStatus] = None,
                        since: Optional[TimeLike] = None, limit: int = 100,
                        before_id: Optional[int] = None) -> list[RunRecord]:
        st = None if status is None else WorkflowStatus(status).value
        since_us = None if since is None else to_micros(since, "since")
        return [rec.run(d) for d in
                await _aio.call(self._native.list_runs, workflow, st, since_us, limit,
                                before_id)]

    async def get_run(self, run_id: int) -> RunRecord:
        return rec.run(await _aio.call(self._native.get_run, int(run_id)))

    async def run_steps(self, run_id: int) -> list[StepRecord]:
        return [rec.step(d) for d in await _aio.call(self._native.run_steps, int(run_id))]

    async def cancel_run(self, run_id: int) -> bool:
        return await _aio.call(self._native.cancel_run, int(run_id))

    async def resume_run(self, run_id: int) -> bool:
        """Ends a PAUSED run's wait now (its sleep is over, its recv times out); False if the
        run is not PAUSED."""
        return await _aio.call(self._native.resume_run, int(run_id))

    async def create_workflow(self, name: str, arg: Any) -> "Run":
        """Registers workflow ``name`` if needed and triggers a run with ``arg``; returns
        the Run handle (not started)."""
        from ._workflow import Run
        await _aio.call(_pgqrs.workflow_create, self._store._native, name)
        msg = await _aio.call(_pgqrs.workflow_trigger, self._store._native, name, arg)
        native = await _aio.call(_pgqrs.run_execute, self._store._native, None, msg["id"])
        return Run(native, self._store)


# ---- record table handles ----------------------------------------------------------------


class _Table:
    def __init__(self, store: Store) -> None:
        self._admin = Admin(store)


class Workers(_Table):
    async def count(self) -> int:
        return len(await self._admin.list_workers())

    async def list(self) -> list[WorkerInfo]:
        return await self._admin.list_workers()

    async def get(self, id: int) -> WorkerInfo:
        return await self._admin.get_worker(id)


class Queues(_Table):
    async def count(self) -> int:
        return len(await self._admin.list_queues())

    async def list(self) -> list[QueueInfo]:
        return await self._admin.list_queues()


class Messages(_Table):
    async def count(self) -> int:
        """Live messages, as in the original pgqrs: pending + delayed + leased (archived and
        dead-lettered ones are not counted; admin.system_stats() has every total)."""
        s = await self._admin.system_stats()
        return s.pending + s.delayed + s.leased

    async def list_archived_by_queue(self, queue_id: int) -> list[QueueMessage]:
        for q in await self._admin.list_queues():
            if q.id == queue_id:
                msgs = await self._admin.list_messages(q.queue_name, _ALL, True)
                return [m for m in msgs if m.archived_at is not None]
        return []


class Workflows(_Table):
    async def get_by_name(self, name: str) -> Optional[WorkflowRecord]:
        for w in await self._admin.list_workflows():
            if w.name == name:
                return w
        return None

    async def list(self) -> list[WorkflowRecord]:
        return await self._admin.list_workflows()


class WorkflowRuns(_Table):
    async def list(self) -> list[RunRecord]:
        return await self._admin.list_runs(limit=_ALL)

    async def get(self, id: int) -> RunRecord:
        return await self._admin.get_run(id)


class WorkflowSteps(_Table):
    async def list(self) -> list[StepRecord]:
        out: list[StepRecord] = []
        for r in await self._admin.list_runs(limit=_ALL):
            out.extend(await self._admin.run_steps(r.id))
        return out


# ---- consume_iter -------------------------------------------------------------------------


class ConsumeIterator:
    """``async for msg in store.consume_iter("q")``: leases messages one at a time for a
    consumer of its own (registered on first use, stopped by close()), waiting when the
    queue is empty. Archive or delete each message through the iterator; one left alone is
    delivered again when its lease expires. ``async with`` closes it on exit; close() also
    ends a waiting iteration (StopAsyncIteration)."""

    def __init__(self, store: Store, queue: str, poll_interval_ms: Optional[int]) -> None:
        self._store = store
        self._queue = queue
        self._poll_interval_ms = poll_interval_ms
        self._consumer: Optional[Consumer] = None
        self._stop = _aio.new_stop()
        self._closed = False
        self._idle: Optional[asyncio.Event] = None  # clear while a wait is in flight

    async def _ensure(self) -> Consumer:
        if self._consumer is None:
            self._consumer = await self._store.consumer(self._queue)
        return self._consumer

    def __aiter__(self) -> "ConsumeIterator":
        return self

    async def __anext__(self) -> QueueMessage:
        if self._closed:
            raise StopAsyncIteration
        consumer = await self._ensure()
        opts = _pgqrs.DequeueOptions()
        opts.consumer = consumer._native
        opts.batch = 1
        opts.poll_interval_ms = self._poll_interval_ms
        opts.stop = self._stop
        if self._idle is None:
            self._idle = asyncio.Event()
        self._idle.clear()
        try:
            got = await _aio.call_long(_pgqrs.poll_messages, self._store._native, opts,
                                       stop=self._stop)
        except PgqrsError:
            if self._closed:
                raise StopAsyncIteration from None
            raise
        finally:
            self._idle.set()
        if not got:
            raise StopAsyncIteration
        return rec.message(got[0])

    async def archive(self, id: int) -> bool:
        return await (await self._ensure()).archive(id)

    async def delete(self, id: int) -> bool:
        return await (await self._ensure()).delete(id)

    async def close(self) -> None:
        """Ends iteration, gives back messages still leased, and stops the consumer."""
        if self._closed:
            return
        self._closed = True
        self._stop.request_stop()
        if self._idle is not None:
            await self._idle.wait()  # the waiting dequeue has returned
        if self._consumer is not None:
            c = self._consumer
            admin = Admin(self._store)
            await admin.release_worker_messages(c.worker_id)
            if await c.status() not in (rec.WorkerStatus.Suspended, rec.WorkerStatus.Stopped):
                await c.suspend()
            if await c.status() == rec.WorkerStatus.Suspended:
                await c.shutdown()

    async def __aenter__(self) -> "ConsumeIterator":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
