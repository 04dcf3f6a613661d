"""A consumer process for test_opentelemetry.py: instruments OpenTelemetry with an in-memory
exporter, handles one message of the queue named in argv[1] (connecting with
pgqrs.Config.load(), i.e. PGQRS_DSN / PGQRS_SCHEMA), and prints its handler span as JSON."""

import asyncio
import json
import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import pgqrs


async def main(queue: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pgqrs.instrument_opentelemetry(provider)
    store = await pgqrs.connect_with(pgqrs.Config.load())
    handled = await pgqrs.consume(store, queue, lambda m: None)
    assert handled, "no message to handle"
    for span in exporter.get_finished_spans():
        print(json.dumps({"name": span.name, "trace_id": span.context.trace_id,
                          "parent_span_id": span.parent.span_id if span.parent else None,
                          "message_id": span.attributes.get("pgqrs.message_id")}))


asyncio.run(main(sys.argv[1]))
