"""Producer and Consumer: named workers with a row in pgqrs_workers (SPEC §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import _aio, _otel, _pgqrs
from . import _records as rec
from ._records import QueueMessage, WorkerInfo, WorkerStatus
from ._time import TimeLike, to_micros
from ._time import millis as _millis
from ._time import seconds as _secs

if TYPE_CHECKING:
    from ._store import Admin

__all__ = ["Producer", "Consumer"]


def _ids(items: Any) -> list[int]:
    return [m.id if isinstance(m, QueueMessage) else int(m) for m in items]


class _Worker:
    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def worker_id(self) -> int:
        return self._native.id

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def queue(self) -> str:
        return self._native.queue

    async def info(self) -> WorkerInfo:
        return rec.worker(await _aio.call(self._native.info))

    async def status(self) -> WorkerStatus:
        return WorkerStatus(await _aio.call(self._native.status))

    async def heartbeat(self) -> None:
        await _aio.call(self._native.heartbeat)

    async def suspend(self) -> None:
        await _aio.call(self._native.suspend)

    async def resume(self) -> None:
        await _aio.call(self._native.resume)

    async def shutdown(self) -> None:
        await _aio.call(self._native.shutdown)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(worker_id={self.worker_id}, name={self.name!r}, queue={self.queue!r})"


class Producer(_Worker):
    """A named producer of one queue. Safe to share between tasks and threads."""

    @staticmethod
    async def new_producer(admin: "Admin", queue: str, name: str) -> "Producer":
        return Producer(await _aio.call(_pgqrs.new_producer, admin._store._native, name, queue))

    async def enqueue(self, payload: Any, *, priority: Optional[int] = None,
                      dedup_key: Optional[str] = None, concurrency_key: Optional[str] = None,
                      delay: Optional[float] = None) -> int:
        """Returns the message id; with a dedup_key held by a live message of the queue,
        nothing is stored and that message's id is returned (docs/flow-control.md)."""
        if priority is None and dedup_key is None and concurrency_key is None and delay is None:
            if _otel.active():
                return (await self._traced([payload], None))[0]
            return await _aio.call(self._native.enqueue, payload)
        delay_ms = None if delay is None else _millis(delay, "delay")

        def call(tp: Optional[str], ts: Optional[str]) -> Any:
            return _aio.call(_pgqrs.producer_enqueue_flow, self._native, payload, priority,
                             dedup_key, concurrency_key, delay_ms, tp, ts)
        if _otel.active():
            return await _otel.traced_enqueue(self.queue, 1, call)
        return await call(None, None)

    async def enqueue_delayed(self, payload: Any, delay_seconds: float) -> int:
        delay = _secs(delay_seconds, "delay_seconds")
        if _otel.active():
            return (await self._traced([payload], delay * 1000))[0]
        return await _aio.call(self._native.enqueue_delayed, payload, delay)

    async def batch_enqueue(self, payloads: list) -> list[int]:
        if _otel.active():
            return await self._traced(payloads, None)
        return await _aio.call(self._native.batch_enqueue, payloads)

    async def _traced(self, payloads: list, delay_ms: Optional[int]) -> list[int]:
        """The enqueue in an OpenTelemetry span whose context is stored with the messages."""
        return await _otel.traced_enqueue(
            self.queue, len(payloads),
            lambda tp, ts: _aio.call(_pgqrs.enqueue_traced, None, "", payloads, delay_ms,
                                     self._native, tp, ts))


class Consumer(_Worker):
    """A named consumer of one queue. Owner-only operations (archive, delete, extend_vt,
    release) apply only to messages it leases now and report whether they applied."""

    @staticmethod
    async def new_consumer(admin: "Admin", queue: str, name: str) -> "Consumer":
        return Consumer(await _aio.call(_pgqrs.new_consumer, admin._store._native, name, queue))

    async def interrupt(self) -> None:
        """polling -> interrupted: a running poll ends promptly (it raises PgqrsError) and
        leaves the worker suspended. StateTransitionError if it is not polling."""
        await _aio.call(self._native.interrupt)

    async def dequeue(self, batch_size: int = 1) -> list[QueueMessage]:
        return rec.messages(await _aio.call(self._native.dequeue, batch_size))

    async def dequeue_many_with_delay(self, limit: int, vt_seconds: float) -> list[QueueMessage]:
        return rec.messages(await _aio.call(self._native.dequeue_with_vt, limit,
                                            _secs(vt_seconds, "vt_seconds")))

    async def dequeue_at(self, limit: int, vt_seconds: float,
                         current_time: TimeLike) -> list[QueueMessage]:
        return rec.messages(await _aio.call(self._native.dequeue_at, limit,
                                            _secs(vt_seconds, "vt_seconds"),
                                            to_micros(current_time, "current_time")))

    async def archive(self, id: int) -> bool:
        return await _aio.call(self._native.archive, int(id))

    async def archive_many(self, ids: list[int]) -> list[bool]:
        return await _aio.call(self._native.archive_many, _ids(ids))

    async def delete(self, id: int) -> bool:
        return await _aio.call(self._native.delete_message, int(id))

    async def delete_many(self, ids: list[int]) -> list[bool]:
        return await _aio.call(self._native.delete_many, _ids(ids))

    async def extend_vt(self, id: int, seconds: float) -> bool:
        return await _aio.call(self._native.extend_vt, int(id), _secs(seconds, "seconds"))

    async def release_messages(self, ids: list[int]) -> int:
        return await _aio.call(self._native.release_messages, _ids(ids))

    async def release_with_visibility(self, id: int, visible_at: TimeLike) -> bool:
        return await _aio.call(self._native.release_with_visibility, int(id),
                               to_micros(visible_at, "visible_at"))


def wrap_producer(native: Any) -> Producer:
    return Producer(native)


def wrap_consumer(native: Optional[Any]) -> Consumer:
    return Consumer(native)
