"""ManualClock: engine time that only moves when a test moves it (docs/decisions.md K1).

A store connected with ``clock=ManualClock()`` reads every "now" from it and measures every
engine wait on it: lease expiry and extension, heartbeats, poll back-off and ``until``,
retry back-off, durable sleeps and ``result(timeout)``. Moving the clock wakes the engine's
waiting threads at once; it never moves by itself. Wake-ups that are not about time (an
enqueue on the same store, a Postgres NOTIFY, interrupt, cancellation) still happen at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from . import _pgqrs
from ._time import TimeLike, seconds_float, to_micros

__all__ = ["ManualClock"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ManualClock:
    """A clock for tests. ``start``: an aware datetime or ISO-8601 string (default: now)."""

    def __init__(self, start: Optional[TimeLike] = None) -> None:
        micros = None if start is None else to_micros(start, "ManualClock start")
        self._native = _pgqrs.ManualClock(micros)

    def now(self) -> datetime:
        """The clock's time, as an aware UTC datetime."""
        return _EPOCH + timedelta(microseconds=self._native.now_us())

    def advance(self, seconds: float) -> None:
        """Moves the clock forward by ``seconds`` (finite, >= 0; fractions allowed) and wakes
        the engine threads whose wait has come due."""
        delta = seconds_float(seconds, "ManualClock.advance seconds")
        self._native.advance_us(int(round(delta * 1_000_000)))

    def set(self, when: TimeLike) -> None:
        """Moves the clock to ``when`` (an aware datetime or ISO-8601 string; backwards too)."""
        self._native.set_us(to_micros(when, "ManualClock.set"))

    def waiting(self) -> int:
        """How many engine threads are blocked waiting on this clock right now. A test aid:
        wait until the engine is idle (e.g. a poll loop has started its wait) before moving
        time."""
        return self._native.waiting()
