"""pgqrs.dequeue(): the dequeue builder with handlers, and the one-call helpers
(produce, consume, enqueue, archive, ...)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from . import _aio, _flow, _otel, _pgqrs
from . import _records as rec
from ._errors import PgqrsError, ValidationError
from ._records import PollStats, QueueMessage
from ._time import TimeLike, to_micros
from ._time import millis as _millis
from ._time import seconds as _secs
from ._workers import Consumer, Producer

if TYPE_CHECKING:
    from ._store import Store
    from ._workflow import WorkflowDef

__all__ = ["DequeueBuilder", "dequeue", "produce", "produce_batch", "consume",
           "consume_batch", "enqueue", "enqueue_batch", "enqueue_delayed", "archive",
           "archive_batch", "delete", "extend_vt"]

Handler = Callable[..., Any]


class DequeueBuilder:
    """``pgqrs.dequeue().worker(c).batch(n).handle(h).poll(store)``.

    Without ``worker()``, ``from_queue()`` names the queue and the store's own ephemeral
    consumer leases the messages. A handler may be a plain function (it runs on an engine
    thread) or ``async def`` (it runs on the event loop; the engine thread waits for it).
    Success archives the message(s); an exception releases them with backoff.
    """

    def __init__(self) -> None:
        self._consumer: Optional[Consumer] = None
        self._queue: Optional[str] = None
        self._batch: Optional[int] = None
        self._vt: Optional[int] = None
        self._poll_interval_ms: Optional[int] = None
        self._until_ms: Optional[int] = None
        self._until_empty = False
        self._at: Optional[int] = None
        self._handler: Optional[Handler] = None
        self._batched = False
        self._workflow: Any = None

    # ---- options ----------------------------------------------------------------------
    def worker(self, consumer: Consumer) -> "DequeueBuilder":
        self._consumer = consumer
        return self

    def batch(self, n: int) -> "DequeueBuilder":
        """Messages per lease; clamped to >= 1. A single-message handle() needs 1."""
        self._batch = max(1, int(n))
        return self

    def from_queue(self, name: str) -> "DequeueBuilder":
        self._queue = name
        return self

    def vt(self, seconds: float) -> "DequeueBuilder":
        """Lease (visibility timeout) in seconds; default: the config's default_lock_time."""
        self._vt = _secs(seconds, "vt")
        return self

    def poll_interval(self, ms: int) -> "DequeueBuilder":
        self._poll_interval_ms = int(ms)
        return self

    def at(self, iso: TimeLike) -> "DequeueBuilder":
        """fetch_one / fetch_all as of this time (needs worker())."""
        self._at = to_micros(iso, "at")
        return self

    def until(self, seconds: float) -> "DequeueBuilder":
        """Upper bound on how long poll() waits / runs."""
        self._until_ms = _millis(seconds, "until")
        return self

    def until_empty(self, enabled: bool = True) -> "DequeueBuilder":
        """poll() with a handler returns when no message is available."""
        self._until_empty = bool(enabled)
        return self

    # ---- handlers ---------------------------------------------------------------------
    def handle(self, handler: Handler) -> "DequeueBuilder":
        return self._set_handler(handler, batched=False)

    def handle_batch(self, handler: Handler) -> "DequeueBuilder":
        return self._set_handler(handler, batched=True)

    def handle_workflow(self, workflow: "WorkflowDef") -> "DequeueBuilder":
        """Serve runs of ``workflow`` (a @pgqrs.decorators.workflow, or any async
        callable ``(run, input)`` with a ``name``)."""
        if not callable(workflow) or not isinstance(getattr(workflow, "name", None), str):
            raise TypeError("handle_workflow() needs a workflow definition "
                            "(@pgqrs.decorators.workflow) or a callable with a 'name'")
        self._check_no_handler()
        self._workflow = workflow
        return self

    def _set_handler(self, handler: Handler, batched: bool) -> "DequeueBuilder":
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {handler!r}")
        self._check_no_handler()
        self._handler = handler
        self._batched = batched
        return self

    def _check_no_handler(self) -> None:
        if self._handler is not None or self._workflow is not None:
            raise ValidationError("dequeue(): exactly one of handle / handle_batch / "
                                  "handle_workflow may be given")

    # ---- terminal calls ---------------------------------------------------------------
    def _options(self, stop: Any = None) -> Any:
        o = _pgqrs.DequeueOptions()
        if self._consumer is None and self._queue is None:
            raise ValidationError("dequeue(): name the queue (from_queue) or the consumer (worker)")
        o.queue = self._queue
        o.consumer = None if self._consumer is None else self._consumer._native
        o.batch = self._batch
        o.vt_s = self._vt
        o.poll_interval_ms = self._poll_interval_ms
        o.until_ms = self._until_ms
        o.until_empty = self._until_empty
        o.stop = stop
        return o

    async def fetch_one(self, store: "Store") -> Optional[QueueMessage]:
        """One dequeue attempt (no waiting): a leased message or None."""
        got = await self._fetch(store, 1)
        return got[0] if got else None

    async def fetch_all(self, store: "Store") -> list[QueueMessage]:
        """One dequeue attempt (no waiting): up to batch() leased messages."""
        return await self._fetch(store, self._batch)

    async def _fetch(self, store: "Store", n: Optional[int]) -> list[QueueMessage]:
        if self._at is not None:
            if self._consumer is None:
                raise ValidationError("dequeue().at(...) needs worker(consumer)")
            vt = self._vt if self._vt is not None else store.config.default_lock_time_seconds
            return rec.messages(await _aio.call(self._consumer._native.dequeue_at, n or 1, vt,
                                                self._at))
        o = self._options()
        o.batch = n
        return rec.messages(await _aio.call(_pgqrs.fetch_all, store._native, o))

    async def execute(self, store: "Store") -> bool:
        """One attempt with the handler: True if a message (batch) was processed; the
        handler's exception is re-raised unchanged after its messages were released."""
        if self._handler is None:
            raise ValidationError("dequeue().execute(): give a handler (handle / handle_batch)")
        handler = _aio.invoker(self._wrap_handler(), asyncio.get_running_loop())
        return await _aio.call_long(_pgqrs.handle_execute, store._native, self._options(),
                                    handler, self._batched)

    async def poll(self, store: "Store") -> Union[list[QueueMessage], PollStats]:
        """Without a handler: waits until at least one message is leased and returns the
        list (empty when until() elapsed). With a handler: processes messages until
        interrupted (raises PgqrsError, the worker is left Suspended), until() elapses or,
        with until_empty(), the queue is empty; returns PollStats. Cancelling the task
        stops the loop."""
        if self._handler is not None and not self._batched and (self._batch or 1) != 1:
            raise ValidationError("single-message handlers require batch size = 1, "
                                  f"got {self._batch}")
        stop = _aio.new_stop()
        if self._workflow is not None:
            stats = await self._serve_workflow(store, stop)
        elif self._handler is not None:
            handler = _aio.invoker(self._wrap_handler(), asyncio.get_running_loop())
            stats = await _aio.call_long(_pgqrs.handle_poll, store._native, self._options(stop),
                                         handler, self._batched, stop=stop)
        else:
            got = await _aio.call_long(_pgqrs.poll_messages, store._native, self._options(stop),
                                       stop=stop)
            return rec.messages(got)
        return self._finish(stats)

    def _finish(self, stats: dict) -> PollStats:
        out = PollStats(**stats)
        if out.stop == "interrupted":
            who = f"worker {self._consumer.worker_id}" if self._consumer else "the worker"
            raise PgqrsError(f"{who} was interrupted; it is now suspended "
                             f"(processed {out.processed}, failed {out.failed})")
        return out

    async def _serve_workflow(self, store: "Store", stop: Any) -> dict:
        from ._workflow import Run

        wf = self._workflow
        loop = asyncio.get_running_loop()

        policy = getattr(wf, "retry_policy", None)

        def call_workflow(native_run: Any, input: Any) -> Any:
            run = Run(native_run, store, policy)
            if _otel.active():
                return _otel.traced_run(wf.name, native_run, run.id(), lambda: wf(run, input))
            return wf(run, input)

        return await _aio.call_long(
            _pgqrs.serve_workflow, store._native, wf.name,
            None if self._consumer is None else self._consumer._native,
            _aio.invoker(call_workflow, loop),
            None if policy is None else policy._tuple(),
            self._poll_interval_ms, self._until_ms, self._until_empty, stop, stop=stop)

    def _wrap_handler(self) -> Handler:
        user = self._handler
        assert user is not None
        if self._batched:
            return lambda ds: user(rec.messages(ds))
        if _otel.active():
            queue = self._queue or (self._consumer.queue if self._consumer else None)
            traced = _otel.traced_handler(queue, user)
            return lambda d: traced(rec.message(d))
        return lambda d: user(rec.message(d))


def dequeue(consumer: Optional[Consumer] = None, batch_size: int = 1) -> Any:
    """``dequeue()`` -> a DequeueBuilder; ``await dequeue(consumer, n)`` -> leased messages."""
    if consumer is None:
        return DequeueBuilder()
    return consumer.dequeue(batch_size)


# ---- one-call helpers ------------------------------------------------------------------


async def produce(store: "Store", queue: str, payload: Any, *, priority: Optional[int] = None,
                  dedup_key: Optional[str] = None, concurrency_key: Optional[str] = None,
                  delay: Optional[float] = None) -> int:
    """Enqueues one payload (no named worker); returns its id. The keyword arguments are the
    flow fields (docs/flow-control.md); see Producer.enqueue."""
    if priority is not None or dedup_key is not None or concurrency_key is not None or \
            delay is not None:
        return (await _flow.enqueue(store._native, queue, [payload], priority=priority,
                                    dedup_key=dedup_key, concurrency_key=concurrency_key,
                                    delay=delay))[0]
    return (await produce_batch(store, queue, [payload]))[0]


async def produce_batch(store: "Store", queue: str, payloads: list) -> list[int]:
    """Enqueues a batch in one transaction (all or nothing); ids in input order."""
    if _otel.active():
        return await _otel.traced_enqueue(
            queue, len(payloads),
            lambda tp, ts: _aio.call(_pgqrs.enqueue_traced, store._native, queue, payloads,
                                     None, None, tp, ts))
    return await _aio.call(_pgqrs.enqueue, store._native, queue, payloads, None, None, None)


async def consume(store: "Store", queue: str, handler: Handler) -> bool:
    """One dequeue attempt (no waiting): handler(msg) is called (awaited if async);
    archive on success; on exception the message is released with backoff and the
    handler's exception is re-raised. False if there was no message."""
    return await DequeueBuilder().from_queue(queue).handle(handler).execute(store)


async def consume_batch(store: "Store", queue: str, batch_size: int, handler: Handler) -> bool:
    """consume() for up to batch_size messages, handler(list_of_messages)."""
    return await (DequeueBuilder().from_queue(queue).batch(batch_size)
                  .handle_batch(handler).execute(store))


async def enqueue(producer: Producer, payload: Any, *, priority: Optional[int] = None,
                  dedup_key: Optional[str] = None, concurrency_key: Optional[str] = None,
                  delay: Optional[float] = None) -> int:
    return await producer.enqueue(payload, priority=priority, dedup_key=dedup_key,
                                  concurrency_key=concurrency_key, delay=delay)


async def enqueue_batch(producer: Producer, payloads: list) -> list[int]:
    return await producer.batch_enqueue(payloads)


async def enqueue_delayed(producer: Producer, payload: Any, delay_seconds: float) -> int:
    return await producer.enqueue_delayed(payload, delay_seconds)


def _id(msg: Union[QueueMessage, int]) -> int:
    return msg.id if isinstance(msg, QueueMessage) else int(msg)


async def archive(consumer: Consumer, msg: Union[QueueMessage, int]) -> bool:
    return await consumer.archive(_id(msg))


async def archive_batch(consumer: Consumer, msgs: list) -> list[bool]:
    return await consumer.archive_many([_id(m) for m in msgs])


async def delete(consumer: Consumer, msg: Union[QueueMessage, int]) -> bool:
    return await consumer.delete(_id(msg))


async def extend_vt(consumer: Consumer, msg: Union[QueueMessage, int], seconds: float) -> bool:
    return await consumer.extend_vt(_id(msg), seconds)
