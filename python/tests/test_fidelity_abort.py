"""Drop-in rule 7 of issue 13 (the original pgqrs 0.15): a BaseException that is not an
Exception escaping a handler stops the poll loop, releases the in-flight message at once
without counting a failed delivery, leaves the run and its steps untouched, and poll()
re-raises the same object. Ordinary exceptions keep the loop going."""

from __future__ import annotations

import pytest

import pgqrs
from pgqrs.decorators import step, workflow
from conftest import within


class SimulatedCrash(BaseException):
    """A process dying in the middle of a handler, as users simulate it in tests."""


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_rule7_queue_handler_base_exception_stops_and_releases(store, kind):
    await store.queue("r7")
    await pgqrs.produce_batch(store, "r7", [1, 2])
    crash = KeyboardInterrupt("operator pressed ctrl-c")
    seen = []

    def sync_handler(msg):
        seen.append(msg.payload)
        raise crash

    async def async_handler(msg):
        seen.append(msg.payload)
        raise crash

    consumer = await store.consumer("r7")
    handler = sync_handler if kind == "sync" else async_handler
    builder = pgqrs.dequeue().worker(consumer).handle(handler).poll_interval(20)
    # Awaited directly: asyncio re-raises a KeyboardInterrupt that ends a Task (e.g. the one
    # wait_for() would wrap around poll) from the event loop itself.
    with pytest.raises(KeyboardInterrupt) as info:
        await builder.until_empty().poll(store)
    assert info.value is crash, "the same object is re-raised"
    assert seen == [1], "the loop stopped at once"
    msgs = {m.payload: m for m in await pgqrs.admin(store).list_messages("r7")}
    first = msgs[1]
    assert first.consumer_worker_id is None and first.dead_at is None
    assert first.read_ct == 1, "no failed delivery counted beyond the lease itself"
    again = await pgqrs.dequeue().worker(consumer).batch(2).fetch_all(store)
    assert sorted(m.payload for m in again) == [1, 2], "released at once (no backoff)"


async def test_rule7_ordinary_exceptions_keep_the_loop_going(store):
    await store.queue("r7b")
    await pgqrs.produce_batch(store, "r7b", [1, 2])
    seen = []

    def handler(msg):
        seen.append(msg.payload)
        if msg.payload == 1:
            raise RuntimeError("bad message")

    stats = await within(pgqrs.dequeue().from_queue("r7b").handle(handler).poll_interval(20)
                         .until_empty().poll(store))
    assert stats.failed == 1 and stats.processed == 1 and sorted(seen) == [1, 2]


async def test_rule7_workflow_crash_leaves_the_run_for_a_later_worker(wf_store):
    store = wf_store
    crash = SimulatedCrash("worker killed")
    calls = []
    crashing = [True]

    @step
    async def first(ctx):
        calls.append("first")
        return 1

    @workflow(name="r7_wf")
    async def r7_wf(ctx, data):
        await first(ctx)
        if crashing[0]:
            raise crash
        return {"done": True}

    await pgqrs.workflow().name("r7_wf").store(store).create()
    msg = await pgqrs.workflow().name("r7_wf").store(store).trigger({}).execute()
    consumer = await store.consumer("r7_wf")
    builder = pgqrs.dequeue().worker(consumer).handle_workflow(r7_wf).poll_interval(20)
    with pytest.raises(SimulatedCrash) as info:
        await builder.until_empty().poll(store)
    assert info.value is crash
    record = await pgqrs.run().message(msg).store(store).record()
    assert record.status == pgqrs.WorkflowStatus.Running and record.error is None
    [s] = await pgqrs.admin(store).run_steps(record.id)
    assert s.status == pgqrs.WorkflowStatus.Success

    crashing[0] = False  # a later worker completes the run; the step is not re-run
    later = await store.consumer("r7_wf")
    stats = await within(pgqrs.dequeue().worker(later).handle_workflow(r7_wf)
                         .poll_interval(20).until_empty().poll(store))
    assert stats.processed == 1
    assert await pgqrs.run().message(msg).store(store).result(timeout=10) == {"done": True}
    assert calls == ["first"]
