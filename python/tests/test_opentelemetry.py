"""pgqrs.instrument_opentelemetry(): spans for enqueue -> handler -> workflow steps, checked
with the OpenTelemetry SDK's InMemorySpanExporter on every backend of the suite (the
producer and the consumer in this process, and a consumer in another process that continues
the trace from the context stored with the message)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from conftest import within

otel_sdk = pytest.importorskip(
    "opentelemetry.sdk.trace",
    reason="opentelemetry-sdk is not installed (scripts/python-requirements.txt has it)")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import \
    InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

HERE = Path(__file__).resolve().parent


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pgqrs.instrument_opentelemetry(provider)
    try:
        yield exporter
    finally:
        pgqrs.uninstrument_opentelemetry()


def by_name(exporter, prefix):
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


def hexid(n: int, width: int) -> str:
    return format(n, f"0{width}x")


async def test_enqueue_then_handler_continues_the_trace(store, spans):
    await store.queue("jobs")
    tracer = pgqrs._otel._tracer
    with tracer.start_as_current_span("request") as root:
        msg_id = await pgqrs.produce(store, "jobs", {"n": 1})
    msg = await pgqrs.admin(store).get_message(msg_id)
    assert msg.traceparent is not None and msg.traceparent.startswith("00-")

    seen = []

    async def handler(m):
        seen.append(m.traceparent)
        if len(seen) == 1:
            raise RuntimeError("first try fails")

    builder = pgqrs.dequeue().from_queue("jobs").handle(handler)
    with pytest.raises(RuntimeError):
        await builder.execute(store)

    (enq,) = by_name(spans, "pgqrs enqueue jobs")
    (handle,) = by_name(spans, "pgqrs handle jobs")
    assert enq.kind == SpanKind.PRODUCER and handle.kind == SpanKind.CONSUMER
    assert enq.parent.span_id == root.get_span_context().span_id
    assert handle.context.trace_id == root.get_span_context().trace_id
    assert handle.parent.span_id == enq.context.span_id, "the handler continues the enqueue"
    assert msg.traceparent.startswith(f"00-{hexid(enq.context.trace_id, 32)}-"
                                      f"{hexid(enq.context.span_id, 16)}-")
    assert handle.attributes["messaging.destination.name"] == "jobs"
    assert handle.attributes["pgqrs.message_id"] == msg_id
    assert handle.attributes["pgqrs.attempt"] == 1
    assert enq.attributes["pgqrs.message_id"] == msg_id
    assert handle.status.status_code == StatusCode.ERROR
    assert "first try fails" in handle.status.description


async def test_workflow_run_and_steps_are_children_of_the_trigger(wf_store, spans):
    store = wf_store
    attempts = []

    @workflow(name="otel_wf")
    async def otel_wf(ctx, data):
        @step(retry_policy=pgqrs.StepRetryPolicy(2, pgqrs.BackoffStrategy.fixed(0)))
        async def flaky(ctx):
            attempts.append(1)
            if len(attempts) == 1:
                raise pgqrs.TransientStepError("try again", retry_after=0)
            return "ok"

        @step
        async def boom(ctx):
            raise ValueError("bad data")

        await flaky(ctx)
        return await boom(ctx)

    await pgqrs.workflow().name("otel_wf").store(store).create()
    msg = await pgqrs.workflow().name("otel_wf").store(store).trigger({"x": 1}).execute()
    assert msg.traceparent is not None
    consumer = await store.consumer("otel_wf")
    for _ in range(5):
        await within(pgqrs.dequeue().worker(consumer).handle_workflow(otel_wf).poll_interval(20)
                     .until_empty().poll(store))
        rec = await pgqrs.run().message(msg).store(store).record()
        if rec.status == pgqrs.WorkflowStatus.Error:
            break
    assert rec.status == pgqrs.WorkflowStatus.Error

    (trigger,) = by_name(spans, "pgqrs enqueue otel_wf")
    runs = by_name(spans, "pgqrs run otel_wf")
    assert len(runs) == 2, "one execution waited for the step's retry"
    for r in runs:
        assert r.parent.span_id == trigger.context.span_id
        assert r.context.trace_id == trigger.context.trace_id
        assert r.attributes["pgqrs.run_id"] == rec.id
    assert runs[0].status.status_code != StatusCode.ERROR, "waiting for a retry is no failure"
    assert runs[1].status.status_code == StatusCode.ERROR

    flaky = by_name(spans, "pgqrs step flaky")
    boom = by_name(spans, "pgqrs step boom")
    assert [s.attributes["pgqrs.attempt"] for s in flaky] == [1, 2]
    assert flaky[0].status.status_code == StatusCode.ERROR
    assert flaky[1].status.status_code != StatusCode.ERROR
    assert flaky[0].parent.span_id == runs[0].context.span_id
    assert flaky[1].parent.span_id == runs[1].context.span_id
    assert len(boom) == 1 and boom[0].parent.span_id == runs[1].context.span_id
    assert boom[0].status.status_code == StatusCode.ERROR
    assert boom[0].attributes["pgqrs.step"] == "boom"
    assert boom[0].attributes["pgqrs.run_id"] == rec.id


async def test_consumer_in_another_process_continues_the_trace(store, backend, spans, tmp_path):
    if backend.name not in ("sqlite", "postgres", "turso"):
        pytest.skip(f"{backend.name}: the other process needs a shared database file or server")
    await store.queue("xproc")
    msg_id = await pgqrs.produce(store, "xproc", {"hello": "world"})
    (enq,) = by_name(spans, "pgqrs enqueue xproc")
    env = dict(os.environ)
    env.update(backend.env())
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run([sys.executable, str(HERE / "otel_consumer.py"), "xproc"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (span,) = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert span["name"] == "pgqrs handle xproc"
    assert span["message_id"] == msg_id
    assert span["trace_id"] == enq.context.trace_id
    assert span["parent_span_id"] == enq.context.span_id


async def test_package_imports_and_runs_without_instrumentation(store):
    await store.queue("plain")
    msg_id = await pgqrs.produce(store, "plain", 1)
    msg = await pgqrs.admin(store).get_message(msg_id)
    assert msg.traceparent is None and msg.tracestate is None


async def test_enqueues_with_flow_fields_carry_the_trace_context_too(wf_store, spans):
    """Priority, dedup and concurrency keys take the flow path of enqueue and trigger: the
    PRODUCER span's context is stored with those messages as with plain ones."""
    store = wf_store
    await store.queue("flowq")
    producer = await store.producer("flowq")
    ids = [await pgqrs.produce(store, "flowq", {"n": 1}, priority=-1),
           await producer.enqueue({"n": 2}, dedup_key="k2", concurrency_key="c")]
    spans_ = by_name(spans, "pgqrs enqueue flowq")
    assert len(spans_) == 2
    for msg_id, span in zip(ids, spans_):
        msg = await pgqrs.admin(store).get_message(msg_id)
        assert msg.traceparent.startswith(f"00-{hexid(span.context.trace_id, 32)}-"
                                          f"{hexid(span.context.span_id, 16)}-"), msg_id

    await pgqrs.workflow().name("flowwf").store(store).create()
    run_msg = await pgqrs.workflow().name("flowwf").store(store).trigger({"x": 1}) \
        .dedup_key("once").execute()
    (trigger_span,) = by_name(spans, "pgqrs enqueue flowwf")
    assert run_msg.traceparent.startswith(f"00-{hexid(trigger_span.context.trace_id, 32)}-")
