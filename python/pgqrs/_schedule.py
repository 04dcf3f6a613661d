"""Schedules and retention (docs/schedules.md, docs/flow-control.md "Retention").

``await pgqrs.schedule("name").cron("*/5 * * * * *").queue("q").payload({...}).store(store).create()``
(or ``.workflow(name).input({...})``). Each tick fires exactly once however many processes
run; every poll loop on the store fires due schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Optional, Union

from . import _aio, _pgqrs
from ._errors import ValidationError

Seconds = Union[int, float, timedelta]


def _micros(value: Optional[Seconds], what: str, allow_negative: bool = False) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what}: expected seconds or a timedelta, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(f"{what}: must be finite, got {value!r}")
    if value < 0 and not allow_negative:
        raise ValidationError(f"{what}: must not be negative, got {value!r}")
    return int(round(value * 1_000_000))


@dataclass(frozen=True)
class ScheduleRecord:
    id: int
    name: str
    cron: Optional[str]
    every_seconds: Optional[float]
    time_zone: str
    target_kind: str  # "queue" | "workflow"
    target: str
    payload: Any
    catch_up: str  # "none" | "last" | "all"
    paused: bool
    next_fire_at: str
    last_fire_at: Optional[str]
    created_at: str


class ScheduleBuilder:
    """Builds one schedule; nothing is stored before ``await create()``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._cron: Optional[str] = None
        self._every: Optional[int] = None
        self._tz = "UTC"
        self._kind: Optional[str] = None
        self._target = ""
        self._payload: Any = {}
        self._catch_up = "last"
        self._store: Any = None

    def cron(self, expression: str) -> "ScheduleBuilder":
        self._cron = expression
        return self

    def every(self, period: Seconds) -> "ScheduleBuilder":
        # Negative values reach the engine, which names the field ("every: ...").
        self._every = _micros(period, "every", allow_negative=True)
        return self

    def time_zone(self, name: str) -> "ScheduleBuilder":
        self._tz = name
        return self

    def queue(self, name: str) -> "ScheduleBuilder":
        self._kind, self._target = "queue", name
        return self

    def payload(self, value: Any) -> "ScheduleBuilder":
        self._payload = value
        return self

    def workflow(self, name: str) -> "ScheduleBuilder":
        self._kind, self._target = "workflow", name
        return self

    def input(self, value: Any) -> "ScheduleBuilder":
        self._payload = value
        return self

    def catch_up(self, mode: str) -> "ScheduleBuilder":
        self._catch_up = mode
        return self

    def store(self, store: Any) -> "ScheduleBuilder":
        self._store = store
        return self

    async def create(self) -> ScheduleRecord:
        if self._store is None:
            raise ValidationError(f"schedule '{self._name}': no store (call .store(store))")
        return ScheduleRecord(**await _aio.call(
            _pgqrs.schedule_create, self._store._native, self._name, self._cron, self._every,
            self._tz, self._kind or "", self._target, self._payload, self._catch_up))


def schedule(name: str) -> ScheduleBuilder:
    return ScheduleBuilder(name)


async def list_schedules(store: Any) -> list[ScheduleRecord]:
    return [ScheduleRecord(**s) for s in await _aio.call(_pgqrs.schedule_list, store._native)]


async def get_schedule(store: Any, name: str) -> ScheduleRecord:
    return ScheduleRecord(**await _aio.call(_pgqrs.schedule_get, store._native, name))


async def pause_schedule(store: Any, name: str) -> ScheduleRecord:
    return ScheduleRecord(**await _aio.call(_pgqrs.schedule_pause, store._native, name))


async def resume_schedule(store: Any, name: str) -> ScheduleRecord:
    return ScheduleRecord(**await _aio.call(_pgqrs.schedule_resume, store._native, name))


async def remove_schedule(store: Any, name: str) -> bool:
    return bool(await _aio.call(_pgqrs.schedule_remove, store._native, name))


async def fire_due_schedules(store: Any) -> int:
    """Fires every due schedule now (the store's clock); returns the ticks fired."""
    return int(await _aio.call(_pgqrs.schedule_fire_due, store._native))


async def prune(store: Any, *, archived_older_than: Optional[Seconds] = None,
                dead_older_than: Optional[Seconds] = None, queue: Optional[str] = None,
                batch_size: int = 1000, dry_run: bool = False,
                throttle: float = 2.0) -> dict[str, Any]:
    """Deletes old archived messages, dead letters and finished runs in bounded batches.

    After each batch it waits `throttle` times as long as the batch took (0: no pause), so
    consumers keep draining while it runs."""
    return dict(await _aio.call(
        _pgqrs.prune, store._native,
        _micros(archived_older_than, "archived_older_than", allow_negative=True),
        _micros(dead_older_than, "dead_older_than", allow_negative=True), queue, batch_size,
        dry_run, float(throttle)))


async def set_workflow_retention(store: Any, workflow: str,
                                 retain_finished: Optional[Seconds]) -> None:
    await _aio.call(_pgqrs.set_workflow_retention, store._native, workflow,
                    _micros(retain_finished, "retain_finished", allow_negative=True))
