"""OpenTelemetry spans for pgqrs (docs/observability.md "Tracing").

``pgqrs.instrument_opentelemetry(tracer_provider=None)`` turns it on for the process:

- every enqueue (``produce``, ``produce_batch``, ``Producer.enqueue*``, a workflow trigger)
  runs in a PRODUCER span ``pgqrs enqueue <queue>`` whose W3C context is stored with the
  message(s);
- a queue handler runs in a CONSUMER span ``pgqrs handle <queue>`` whose parent is that
  stored context, so it continues the producer's trace in any process;
- a workflow run executes in a CONSUMER span ``pgqrs run <workflow>`` (parent: its
  trigger's enqueue span) and each executed step in an INTERNAL span ``pgqrs step <name>``
  under it.

Attributes: ``messaging.system`` = "pgqrs", ``messaging.destination.name`` (the queue),
``pgqrs.message_id``, ``pgqrs.run_id``, ``pgqrs.step``, ``pgqrs.attempt``. A failure sets
the span's status to ERROR and records the exception; the engine's control-flow signals (a
pause, a step waiting for its retry, a cancel) are not failures.

opentelemetry-api is imported only here and only when instrumenting: ``import pgqrs``
works without it.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, Callable, Iterator, Optional

__all__ = ["instrument_opentelemetry", "uninstrument_opentelemetry"]

_tracer: Any = None  # an opentelemetry Tracer while instrumented, else None


def instrument_opentelemetry(tracer_provider: Any = None) -> None:
    """Emit OpenTelemetry spans from this process's pgqrs calls, through ``tracer_provider``
    (default: the global one). Idempotent; a later call replaces the provider. Raises
    ImportError naming the package when opentelemetry-api is not installed."""
    global _tracer
    try:
        from opentelemetry import trace
    except ImportError as exc:  # pragma: no cover - exercised without the package
        raise ImportError("pgqrs.instrument_opentelemetry() needs the opentelemetry-api "
                          "package (pip install opentelemetry-api opentelemetry-sdk)") from exc
    from . import __version__
    _tracer = trace.get_tracer("pgqrs", __version__, tracer_provider=tracer_provider)


def uninstrument_opentelemetry() -> None:
    """Stop emitting spans (messages keep the context they were stored with)."""
    global _tracer
    _tracer = None


def active() -> bool:
    return _tracer is not None


# ---- helpers used by the package (no-ops unless instrumented) ---------------------------


def _attributes(queue: Optional[str], **ids: Any) -> dict:
    attrs: dict = {"messaging.system": "pgqrs"}
    if queue is not None:
        attrs["messaging.destination.name"] = queue
    for key, value in ids.items():
        if value is not None:
            attrs["pgqrs." + key] = value
    return attrs


def _parent(traceparent: Optional[str], tracestate: Optional[str]) -> Any:
    """The OpenTelemetry context of a stored W3C trace context (None: the current one)."""
    if not traceparent:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return TraceContextTextMapPropagator().extract(carrier)


def _inject() -> tuple[Optional[str], Optional[str]]:
    """The current span's W3C context as (traceparent, tracestate)."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    carrier: dict = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate")


def _fail(span: Any, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def _is_signal(exc: BaseException) -> bool:
    from ._errors import ENGINE_SIGNALS
    return isinstance(exc, ENGINE_SIGNALS)


def _step_failure(exc: BaseException) -> bool:
    """A step's attempt failed: any error but the engine's signals, a transient one too."""
    from ._errors import TransientStepError
    return isinstance(exc, TransientStepError) or not _is_signal(exc)


@contextlib.contextmanager
def _span(name: str, kind: str, parent: Any, attributes: dict,
          is_failure: Callable[[BaseException], bool]) -> Iterator[Any]:
    from opentelemetry import trace
    with _tracer.start_as_current_span(name, context=parent, kind=getattr(trace.SpanKind, kind),
                                       attributes=attributes, record_exception=False,
                                       set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            if is_failure(exc):
                _fail(span, exc)
            raise


async def traced_enqueue(queue: str, count: int,
                         call: Callable[[Optional[str], Optional[str]], Any]) -> Any:
    """Runs ``await call(traceparent, tracestate)`` (an enqueue of ``count`` messages to
    ``queue``) inside a PRODUCER span whose context it passes; the ids it returns become
    attributes. Without instrumentation: ``call(None, None)``."""
    if _tracer is None:
        return await call(None, None)
    with _span(f"pgqrs enqueue {queue}", "PRODUCER", None,
               _attributes(queue, message_count=count), lambda e: True) as span:
        tp, ts = _inject()
        out = await call(tp, ts)
        ids = out if isinstance(out, list) else [getattr(out, "id", out)]
        if len(ids) == 1:
            span.set_attribute("pgqrs.message_id", int(ids[0]))
        run_id = getattr(out, "run_id", None)
        if run_id is not None:
            span.set_attribute("pgqrs.run_id", int(run_id))
        return out


def traced_handler(queue: Optional[str], handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``handler(msg)`` run in a CONSUMER span continuing ``msg``'s stored trace context.
    Async handlers get the span around their awaiting. Without instrumentation: unchanged."""
    if _tracer is None:
        return handler

    def call(msg: Any) -> Any:
        parent = _parent(msg.traceparent, msg.tracestate)
        attrs = _attributes(queue, message_id=msg.id, attempt=msg.read_ct)
        name = f"pgqrs handle {queue}" if queue else "pgqrs handle"
        if inspect.iscoroutinefunction(handler):
            async def run() -> Any:
                with _span(name, "CONSUMER", parent, attrs, lambda e: True):
                    return await handler(msg)
            return run()
        with _span(name, "CONSUMER", parent, attrs, lambda e: True):
            out = handler(msg)
        if inspect.isawaitable(out):  # a sync callable returning an awaitable
            async def finish() -> Any:
                with _span(name, "CONSUMER", parent, attrs, lambda e: True):
                    return await out
            return finish()
        return out

    return call


async def traced_run(workflow: str, native_run: Any, run_id: int, body: Callable[[], Any]) -> Any:
    """``await body()`` (a workflow run's execution) in a CONSUMER span whose parent is the
    context its trigger stored; the engine's signals (pause, retry wait, cancel) are not
    failures."""
    if _tracer is None:
        return await body()
    from . import _pgqrs
    stored = _pgqrs.run_trace_context(native_run)
    parent = _parent(*stored) if stored else None
    with _span(f"pgqrs run {workflow}", "CONSUMER", parent, _attributes(workflow, run_id=run_id),
               lambda e: not _is_signal(e)):
        return await body()


async def traced_step(name: str, run_id: int, attempt: Callable[[], Any],
                      body: Callable[[], Any]) -> Any:
    """``await body()`` (an executed step) in an INTERNAL span under the current run span;
    ``await attempt()`` gives the step's execution number."""
    if _tracer is None:
        return await body()
    n = await attempt()
    with _span(f"pgqrs step {name}", "INTERNAL", None,
               _attributes(None, run_id=run_id, step=name, attempt=n),
               _step_failure):
        return await body()
