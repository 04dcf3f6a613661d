"""Timestamps (internal): ISO-8601 strings with an offset out, ISO strings or aware
datetimes in (naive values are refused: their time zone is a guess)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Union

from ._errors import ValidationError

TimeLike = Union[str, datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(value: TimeLike, what: str) -> int:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{what}: {value!r} is not an ISO-8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{what}: expected an ISO-8601 string or datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{what}: {value.isoformat()} has no UTC offset (use e.g. '+00:00' or 'Z')")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def seconds(value: float, what: str) -> int:
    """A whole, non-negative number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what}: expected a number of seconds, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(f"{what}: must be finite, got {value!r}")
    if value < 0:
        raise ValidationError(f"{what}: must not be negative, got {value!r}")
    return int(value)


def millis(value: float, what: str) -> int:
    return int(round(seconds_float(value, what) * 1000))


def seconds_float(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what}: expected a number of seconds, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(f"{what}: must be finite, got {value!r}")
    if value < 0:
        raise ValidationError(f"{what}: must not be negative, got {value!r}")
    return float(value)
