"""Workflows that talk (docs/workflows.md "Messages, events and child workflows"): messages
to a run, events and streams from a run, and child runs, from outside a workflow. Inside
one, the same are methods of the handler's ``ctx`` (``Run.recv``, ``Run.send``,
``Run.set_event``, ``Run.write_stream``, ``Run.start_child``, ``Run.gather``).

Waiting here (``get_event``, ``read_stream``) holds no thread: the store is re-read every
poll interval, and the timeout is measured on the store's clock."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional

from . import _aio, _pgqrs
from . import _records as rec
from ._errors import TimeoutError
from ._records import RunRecord
from ._time import seconds_float

if TYPE_CHECKING:
    from ._store import Store
    from ._workflow import Run

__all__ = ["send", "get_event", "read_stream", "run_messages", "run_events", "child_runs",
           "ChildRun", "stranded_runs", "migrate_runs"]


def _interval(store: "Store") -> float:
    return max(0.005, min(0.2, store.config.poll_interval_ms / 1000.0))


def _clock(store: "Store"):
    from ._workflow import _clock_reader
    return _clock_reader(store)


async def send(store: "Store", run_id: int, topic: str, payload: Any) -> int:
    """Sends ``payload`` on ``topic`` to run ``run_id`` (a run waiting in ``recv`` wakes at
    once); returns the message id. ValidationError for an unknown run, a bad topic or a
    payload over the store's limit (nothing is stored)."""
    return await _aio.call(_pgqrs.send, store._native, int(run_id), topic, payload)


async def get_event(store: "Store", run_id: int, key: str, timeout: float = 0.0) -> Any:
    """The latest value run ``run_id`` published for ``key`` (``ctx.set_event``), waiting up
    to ``timeout`` seconds for a first one; None if none came (ValidationError for an unknown
    run or a bad key)."""
    now = _clock(store)
    deadline = now() + seconds_float(timeout, "timeout")
    while True:
        found, value = await _aio.call(_pgqrs.get_event, store._native, int(run_id), key, 0)
        if found:
            return value
        if now() >= deadline:
            return None
        await asyncio.sleep(_interval(store))


async def read_stream(store: "Store", run_id: int, key: str,
                      timeout: Optional[float] = 60.0) -> AsyncIterator[Any]:
    """``async for value in pgqrs.read_stream(store, run_id, "log")``: the values run
    ``run_id`` wrote to stream ``key`` (``ctx.write_stream``), in order, ending when the
    stream is closed or the run finished. pgqrs.TimeoutError when nothing new came for
    ``timeout`` seconds (None: wait without limit)."""
    reader = await _aio.call(_pgqrs.StreamReader, store._native, int(run_id), key)
    now = _clock(store)
    limit = None if timeout is None else seconds_float(timeout, "timeout")
    deadline = None if limit is None else now() + limit
    while True:
        try:
            more, value = await _aio.call(reader.next, 0)
        except TimeoutError:
            if deadline is not None and now() >= deadline:
                raise TimeoutError(f"stream {key!r} of run {run_id}: nothing new within "
                                   f"{timeout} s") from None
            await asyncio.sleep(_interval(store))
            continue
        if not more:
            return
        yield value
        deadline = None if limit is None else now() + limit


async def run_messages(store: "Store", run_id: int, limit: int = 100) -> list[dict]:
    """The messages sent to a run, oldest first: dicts with id, topic, payload, created_at,
    received_at and received_by (the receiving step, None while unread)."""
    return await _aio.call(_pgqrs.run_messages, store._native, int(run_id), int(limit))


async def run_events(store: "Store", run_id: int, limit: int = 100) -> list[dict]:
    """The events, stream values and stream ends a run wrote, oldest first: dicts with id,
    kind ("event", "stream", "stream_end"), key, value and created_at."""
    return await _aio.call(_pgqrs.run_events, store._native, int(run_id), int(limit))


async def child_runs(store: "Store", run_id: int) -> list[RunRecord]:
    """The runs ``run_id`` started with ``ctx.start_child``, oldest first."""
    return [rec.run(d) for d in await _aio.call(_pgqrs.child_runs, store._native, int(run_id))]


async def stranded_runs(store: "Store", heartbeat_timeout: float = 60.0,
                        limit: int = 1000) -> list[dict]:
    """Safe upgrades: unfinished runs whose app version (``Config.app_version`` of the store
    that triggered them) no live worker of their workflow serves: dicts with run_id,
    workflow, app_version and status."""
    return await _aio.call(_pgqrs.stranded_runs, store._native, int(heartbeat_timeout),
                           int(limit))


async def migrate_runs(store: "Store", to: str, from_version: Optional[str] = None,
                       workflow: Optional[str] = None) -> int:
    """Moves unfinished runs (of version ``from_version``, "" = unversioned, None = any; of
    ``workflow``, None = any) to app version ``to`` ("" = unversioned); returns how many."""
    return await _aio.call(_pgqrs.migrate_runs, store._native, to, from_version, workflow)


class ChildRun:
    """A child run started by ``await ctx.start_child(name, input)``."""

    def __init__(self, parent: "Run", run_id: int) -> None:
        self._parent = parent
        self._id = run_id

    @property
    def id(self) -> int:
        """The child run's id."""
        return self._id

    async def result(self) -> Any:
        """The child's output. While it runs, the parent waits durably (PausedError unwinds
        the handler; the parent is woken when the child ends). ExecutionFailedError when the
        child failed or was cancelled."""
        return (await self._parent.gather(self))[0]

    def __repr__(self) -> str:
        return f"ChildRun(id={self.id})"
