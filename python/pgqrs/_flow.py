"""Flow control (issue 14; docs/flow-control.md): queue options and per-message fields.

Plain helpers shared by Store, Producer and the module-level enqueue functions; the engine
validates every value (ValidationError naming the field)."""
from __future__ import annotations

from typing import Any, Optional

from . import _aio, _otel, _pgqrs
from ._errors import ValidationError
from ._time import millis as _millis

QUEUE_OPTIONS = ("concurrency", "worker_concurrency", "key_concurrency", "rate_limit",
                 "retain_archived", "retain_dead")


def option_changes(given: dict[str, Any], *, skip_none: bool) -> dict[str, Any]:
    """The options to send: unknown names are a ValidationError; with skip_none, None means
    "not given" (creation), else it clears the option (update)."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in QUEUE_OPTIONS:
            raise ValidationError(f"unknown queue option '{key}' (known: {', '.join(QUEUE_OPTIONS)})")
        if value is None and skip_none:
            continue
        if key == "rate_limit" and value is not None:
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValidationError(f"rate_limit: expected (count, seconds), got {value!r}")
            value = (value[0], float(value[1]))
        out[key] = value
    return out


def delay_ms(delay: Optional[float]) -> Optional[int]:
    return None if delay is None else _millis(delay, "delay")


async def enqueue(store_native: Any, queue: str, payloads: list, producer_native: Any = None, *,
                  priority: Optional[int] = None, dedup_key: Optional[str] = None,
                  concurrency_key: Optional[str] = None, delay: Optional[float] = None) -> list[int]:
    """The flow enqueue; with OpenTelemetry instrumented, in a PRODUCER span whose context is
    stored with the messages (docs/observability.md)."""
    def call(tp: Optional[str], ts: Optional[str]) -> Any:
        return _aio.call(_pgqrs.enqueue_flow, store_native, queue, payloads, delay_ms(delay),
                         producer_native, priority, dedup_key, concurrency_key, tp, ts)
    if _otel.active():
        return await _otel.traced_enqueue(queue, len(payloads), call)
    return await call(None, None)
